package demo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
)

// Defaults of the zero Config.
const (
	// DefaultPartners is the size of the long tail: about 5,000 partners.
	DefaultPartners = 5000
	// ContactsPerPartner is 12,000 contacts for 5,000 partners.
	ContactsPerPartner = 2.4
	// MaxPartners bounds a data set to what one embedded Redis holds
	// comfortably.
	MaxPartners = 50000
	// HistoryDays is how far back partners joined: about two years.
	HistoryDays = 730
)

// Config says which data set to generate. The zero value but Now is
// valid and means the documented defaults.
type Config struct {
	// Seed makes the data set and its stream; the same seed and Now give
	// the same ones. If zero, 1.
	Seed uint64
	// Partners is how many partners to generate. If zero,
	// DefaultPartners; at most MaxPartners.
	Partners int
	// Now is when the history ends and the live stream starts: joins,
	// departures, deals and purchases are dated before it. Required.
	Now time.Time
}

// WithDefaults fills in the documented defaults.
func (c Config) WithDefaults() Config {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Partners == 0 {
		c.Partners = DefaultPartners
	}
	return c
}

// Validate names the first invalid field.
func (c Config) Validate() error {
	if c.Partners < 1 || c.Partners > MaxPartners {
		return fmt.Errorf("demo: partners: %d is not between 1 and %d", c.Partners, MaxPartners)
	}
	if c.Now.IsZero() {
		return errors.New("demo: now: required (the history ends there)")
	}
	return nil
}

// Profile is how a partner engages in the live stream.
type Profile string

// Profiles of the long tail.
const (
	// Silent partners send no event at all: most of the tail.
	Silent Profile = "silent"
	// Ambient partners open an email or visit a page now and then.
	Ambient Profile = "ambient"
	// Warming partners are the few percent whose interest grows: they
	// get most of the stream, the hottest of them enough to cross the
	// threshold within the first minute.
	Warming Profile = "warming"
)

// Shares of the profiles among partners still in the program.
const (
	warmingShare = 0.03
	ambientShare = 0.10
)

// Rep is a channel account manager.
type Rep struct {
	ID, Name, Email, Phone, Signature string
	// Regions are the rep's territory: the regions of the partners the
	// rep takes by round robin.
	Regions       []string
	DailyCapacity int
	// Timezone is the rep's own zone, for business hours and the day
	// its capacity counts.
	Timezone string
}

// Partner is a partner company.
type Partner struct {
	ID, Name, Type, Tier, Region, Country, Timezone string
	// OwnerRepID is its owner; empty for most of the tail, which the
	// reps of its region share by round robin.
	OwnerRepID string
	Website    string
	Tags       []string
	// JoinedAt is midnight UTC of the day it joined (zero: unknown, a
	// few legacy partners); LeftAt of the day it left (zero: still in).
	JoinedAt, LeftAt time.Time
	// Profile and Heat are its part in the live stream: the share of the
	// stream's events that go to it is Heat over the sum of all heats.
	Profile Profile
	Heat    float64
}

// Contact is a person at a partner.
type Contact struct {
	ID, PartnerID, Email, FirstName, LastName, Persona, Title string
	// Timezone is the contact's own zone; empty for those who share
	// their partner's.
	Timezone, Locale, Consent string
}

// Dataset is a generated long tail.
type Dataset struct {
	Config   Config
	Reps     []Rep
	Partners []Partner
	Contacts []Contact
	// History is every past event, oldest first: registered deals and
	// purchases over two years, and the engagement of the last 90 days
	// of the partners that are not silent. Their ids start with
	// "demo:<seed>:h".
	History []event.Event

	// contacts[i] indexes the contacts of Partners[i], the first being
	// its owner or manager.
	contacts [][]int
}

// weighted is a value with its weight in a draw.
type weighted[T any] struct {
	v T
	w float64
}

func pick[T any](r *rand.Rand, items []weighted[T]) T {
	total := 0.0
	for _, it := range items {
		total += it.w
	}
	x := r.Float64() * total
	for _, it := range items {
		if x < it.w {
			return it.v
		}
		x -= it.w
	}
	return items[len(items)-1].v
}

func one[T any](r *rand.Rand, items []T) T { return items[r.IntN(len(items))] }

// reps are the eight reps of the demo: four for EMEA, two for North
// America, two for Asia-Pacific, each with the day's capacity of calls.
func reps() []Rep {
	mk := func(id, name, region, tz, phone string, capacity int) Rep {
		email := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@vendor.example"
		return Rep{
			ID: id, Name: name, Email: email, Phone: phone, Regions: []string{region},
			DailyCapacity: capacity, Timezone: tz,
			Signature: name + "\nChannel Account Manager\n" + phone,
		}
	}
	return []Rep{
		mk("rep-anne", "Anne Martin", "emea", "Europe/Paris", "+33 1 84 88 00 01", 6),
		mk("rep-luc", "Luc Bernard", "emea", "Europe/Paris", "+33 1 84 88 00 02", 5),
		mk("rep-james", "James Walker", "emea", "Europe/London", "+44 20 3885 0003", 6),
		mk("rep-hanna", "Hanna Becker", "emea", "Europe/Berlin", "+49 30 5683 0004", 5),
		mk("rep-maria", "Maria Lopez", "na", "America/New_York", "+1 212 555 0105", 8),
		mk("rep-david", "David Chen", "na", "America/Los_Angeles", "+1 415 555 0106", 6),
		mk("rep-kenji", "Kenji Sato", "apac", "Asia/Singapore", "+65 6955 0107", 5),
		mk("rep-olivia", "Olivia Brown", "apac", "Australia/Sydney", "+61 2 5550 0108", 4),
	}
}

// Generate builds the data set of cfg.
func Generate(cfg Config) (*Dataset, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// One stream of draws for the directory and one for the history, so
	// that a change in how history is drawn leaves names and ids alone.
	r := rand.New(rand.NewPCG(cfg.Seed, 0x64656d6f)) // "demo"
	d := &Dataset{Config: cfg, Reps: reps()}
	byRegion := map[string][]string{}
	for _, rp := range d.Reps {
		for _, g := range rp.Regions {
			byRegion[g] = append(byRegion[g], rp.ID)
		}
	}
	usedNames, usedIDs := map[string]bool{}, map[string]bool{}
	for i := range cfg.Partners {
		d.Partners = append(d.Partners, newPartner(r, i, byRegion, usedNames, usedIDs, cfg.Now))
	}
	d.contacts = make([][]int, len(d.Partners))
	total := int(math.Round(float64(cfg.Partners) * ContactsPerPartner))
	// Every partner has its owner or manager; the other contacts go to
	// partners in proportion to their size (gold ones have more people).
	counts := make([]int, len(d.Partners))
	size := make([]weighted[int], len(d.Partners))
	for i, p := range d.Partners {
		counts[i] = 1
		size[i] = weighted[int]{i, map[string]float64{"registered": 1, "silver": 2, "gold": 4}[p.Tier]}
	}
	for range max(0, total-len(d.Partners)) {
		counts[pick(r, size)]++
	}
	for i := range d.Partners {
		p := &d.Partners[i]
		loc := localeOf(p)
		used := map[string]bool{}
		for k := range counts[i] {
			persona := "owner-manager"
			if k > 0 {
				persona = pick(r, otherPersonas)
			}
			c := newContact(r, p, k, persona, loc, used)
			d.contacts[i] = append(d.contacts[i], len(d.Contacts))
			d.Contacts = append(d.Contacts, c)
		}
	}
	d.assignProfiles(r)
	d.History = history(rand.New(rand.NewPCG(cfg.Seed, 0x68697374)), d) // "hist"
	return d, nil
}

func newPartner(r *rand.Rand, i int, byRegion map[string][]string, usedNames, usedIDs map[string]bool, now time.Time) Partner {
	typ := pick(r, partnerTypes)
	co := pick(r, countries)
	var name string
	for try := 0; ; try++ {
		name = one(r, stemHeads) + one(r, stemTails) + " " + one(r, tradeWords[typ])
		if try >= 20 {
			name += fmt.Sprintf(" %d", i+1)
		}
		if !usedNames[name] {
			break
		}
	}
	usedNames[name] = true
	id := slug(name)
	for n := 2; usedIDs[id]; n++ {
		id = fmt.Sprintf("%s-%d", slug(name), n)
	}
	usedIDs[id] = true
	p := Partner{
		ID: id, Name: name + " " + co.legal, Type: typ, Tier: pick(r, tiers),
		Region: co.region, Country: co.code, Timezone: one(r, co.zones),
		Website: "https://www." + id + ".example",
	}
	if co.locale == "fr" {
		p.Tags = append(p.Tags, "francophone")
	}
	// Gold partners all have an owner, silver ones mostly, the bottom of
	// the tail seldom: nobody has time for it.
	if r.Float64() < map[string]float64{"registered": 0.25, "silver": 0.6, "gold": 1}[p.Tier] {
		p.OwnerRepID = one(r, byRegion[p.Region])
	}
	// Joined over the last two years; a few legacy partners have no date.
	if r.Float64() >= 0.03 {
		p.JoinedAt = day(now.AddDate(0, 0, -r.IntN(HistoryDays)))
		// About one in ten of those there for three months or more left.
		if age := int(now.Sub(p.JoinedAt).Hours() / 24); age > 90 && r.Float64() < 0.10 {
			p.LeftAt = p.JoinedAt.AddDate(0, 0, 60+r.IntN(age-60))
		}
	}
	return p
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// slug is a name as an id and a domain label: lower case, words joined by
// hyphens, ASCII only.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
			dash = false
		case c == 'é' || c == 'è' || c == 'ë' || c == 'ê':
			b.WriteRune('e')
			dash = false
		case c == 'ï' || c == 'î':
			b.WriteRune('i')
			dash = false
		case c == 'ç':
			b.WriteRune('c')
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// localeOf is the language of a partner's people.
func localeOf(p *Partner) string {
	if slices.Contains(p.Tags, "francophone") {
		return "fr"
	}
	return "en"
}

func newContact(r *rand.Rand, p *Partner, k int, persona, loc string, used map[string]bool) Contact {
	first, last := one(r, firstNames[loc]), one(r, lastNames[loc])
	local := slug(first) + "." + slug(last)
	for n := 2; used[local]; n++ {
		local = fmt.Sprintf("%s.%s%d", slug(first), slug(last), n)
	}
	used[local] = true
	c := Contact{
		ID: fmt.Sprintf("%s-c%d", p.ID, k+1), PartnerID: p.ID, Email: local + "@" + p.ID + ".example",
		FirstName: first, LastName: last, Persona: persona, Title: one(r, titles[persona]),
		Locale: loc, Consent: "granted",
	}
	// Most records carry the person's zone; the rest leave it blank and
	// go by their partner's, as nurture windows do.
	if r.Float64() < 0.9 {
		c.Timezone = p.Timezone
	}
	switch x := r.Float64(); {
	case x < 0.02:
		c.Consent = "withdrawn"
	case x < 0.12:
		c.Consent = "unknown"
	}
	return c
}

// assignProfiles makes the tail long: of the partners still in the
// program, warmingShare warm up (at least one) and ambientShare engage
// now and then; the rest, and everyone who left, are silent. Warming
// partners' heats follow Zipf's law, so that a handful take most of the
// stream and the rest of the few percent trail behind.
func (d *Dataset) assignProfiles(r *rand.Rand) {
	var in []int
	for i, p := range d.Partners {
		d.Partners[i].Profile = Silent
		if p.LeftAt.IsZero() {
			in = append(in, i)
		}
	}
	r.Shuffle(len(in), func(a, b int) { in[a], in[b] = in[b], in[a] })
	nWarm := max(1, int(math.Round(warmingShare*float64(len(d.Partners)))))
	nAmb := int(math.Round(ambientShare * float64(len(d.Partners))))
	nWarm = min(nWarm, len(in))
	nAmb = min(nAmb, len(in)-nWarm)
	// The warming partners take 85% of the stream, ambient ones 15%.
	h := 0.0
	for k := range nWarm {
		h += 1 / float64(k+1)
	}
	for k, i := range in[:nWarm] {
		d.Partners[i].Profile, d.Partners[i].Heat = Warming, 0.85/(h*float64(k+1))
	}
	for _, i := range in[nWarm : nWarm+nAmb] {
		d.Partners[i].Profile, d.Partners[i].Heat = Ambient, 0.15/float64(max(1, nAmb))
	}
}

// Hottest returns the n partners with the most heat, hottest first: the
// ones the first minute's hand-offs are about.
func (d *Dataset) Hottest(n int) []Partner {
	ps := slices.Clone(d.Partners)
	slices.SortStableFunc(ps, func(a, b Partner) int {
		switch {
		case a.Heat > b.Heat:
			return -1
		case a.Heat < b.Heat:
			return 1
		}
		return 0
	})
	return ps[:min(n, len(ps))]
}

// ContactsOf returns the contacts of the partner with id pid.
func (d *Dataset) ContactsOf(pid string) []Contact {
	for i, p := range d.Partners {
		if p.ID == pid {
			out := make([]Contact, len(d.contacts[i]))
			for k, ci := range d.contacts[i] {
				out[k] = d.Contacts[ci]
			}
			return out
		}
	}
	return nil
}
