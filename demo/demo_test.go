package demo_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/demo"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/program"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func generate(t *testing.T, seed uint64, partners int) *demo.Dataset {
	t.Helper()
	d, err := demo.Generate(demo.Config{Seed: seed, Partners: partners, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b, c := generate(t, 7, 300), generate(t, 7, 300), generate(t, 8, 300)
	opt := cmp.AllowUnexported(demo.Dataset{})
	if diff := cmp.Diff(a, b, opt); diff != "" {
		t.Errorf("the same seed gave two data sets (-first, +second):\n%s", diff)
	}
	if cmp.Equal(a.Partners, c.Partners) {
		t.Error("seeds 7 and 8 gave the same partners")
	}
	sa, sb := a.Stream(), b.Stream()
	for range 1000 {
		if x, y := sa.Next(now), sb.Next(now); !cmp.Equal(x, y) {
			t.Fatalf("the same seed streamed %+v and %+v", x, y)
		}
	}
}

func TestGenerateRefusesABadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  demo.Config
		want string
	}{
		{demo.Config{Partners: -1, Now: now}, "demo: partners: -1 is not between 1 and 50000"},
		{demo.Config{Partners: demo.MaxPartners + 1, Now: now}, "demo: partners: 50001 is not between 1 and 50000"},
		{demo.Config{Partners: 10}, "demo: now: required (the history ends there)"},
	} {
		if _, err := demo.Generate(tc.cfg); err == nil || err.Error() != tc.want {
			t.Errorf("Generate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// The default data set is the long tail: about 5,000 partners of
// the seed's eight types and three tiers, 12,000 contacts across
// personas, locales and time zones, 8 reps with territories and
// capacities; every record is one the directory accepts.
func TestTheDefaultLongTail(t *testing.T) {
	t.Parallel()
	d := generate(t, 1, 0)
	if len(d.Partners) != 5000 || len(d.Contacts) != 12000 || len(d.Reps) != 8 {
		t.Fatalf("%d partners, %d contacts, %d reps; want 5000, 12000, 8", len(d.Partners), len(d.Contacts), len(d.Reps))
	}
	count := func(get func(int) string, n int) map[string]int {
		m := map[string]int{}
		for i := range n {
			m[get(i)]++
		}
		return m
	}
	types := count(func(i int) string { return d.Partners[i].Type }, len(d.Partners))
	for _, typ := range []string{"VAR", "MSP", "SI", "ISV", "hoster", "training", "wholesaler", "consulting"} {
		if types[typ] < 100 {
			t.Errorf("%d partners of type %s, want at least 100: %v", types[typ], typ, types)
		}
	}
	tiers := count(func(i int) string { return d.Partners[i].Tier }, len(d.Partners))
	if !(tiers["registered"] > tiers["silver"] && tiers["silver"] > tiers["gold"] && tiers["gold"] > 0) {
		t.Errorf("tiers %v: want most at the bottom", tiers)
	}
	personas := count(func(i int) string { return d.Contacts[i].Persona }, len(d.Contacts))
	locales := count(func(i int) string { return d.Contacts[i].Locale }, len(d.Contacts))
	zones := count(func(i int) string { return d.Contacts[i].Timezone }, len(d.Contacts))
	if len(personas) != 4 || locales["fr"] < 1000 || locales["en"] < 1000 || len(zones) < 10 {
		t.Errorf("personas %v, locales %v, %d zones: want 4 personas, fr and en, 10 zones or more", personas, locales, len(zones))
	}
	profiles := count(func(i int) string { return string(d.Partners[i].Profile) }, len(d.Partners))
	if profiles["warming"] != 150 || profiles["ambient"] != 500 || profiles["silent"] != 4350 {
		t.Errorf("profiles %v: want 150 warming (3%%), 500 ambient, the rest silent", profiles)
	}
	regions := map[string]int{}
	for _, r := range d.Reps {
		rep := directory.Rep{ID: r.ID, Name: r.Name, Email: r.Email, Regions: r.Regions, DailyCapacity: r.DailyCapacity, Active: true}
		if err := rep.Validate(); err != nil {
			t.Errorf("rep %s: %v", r.ID, err)
		}
		if r.DailyCapacity <= 0 {
			t.Errorf("rep %s takes no calls", r.ID)
		}
		for _, g := range r.Regions {
			regions[g]++
		}
	}
	ids, emails := map[string]bool{}, map[string]bool{}
	for _, p := range d.Partners {
		regions[p.Region] += 0
		if regions[p.Region] == 0 {
			t.Errorf("partner %s is in region %s, which no rep covers", p.ID, p.Region)
		}
		dp := directory.Partner{ID: p.ID, Name: p.Name, Type: p.Type, Tier: p.Tier, Region: p.Region, Country: p.Country,
			Timezone: p.Timezone, OwnerRepID: p.OwnerRepID, Website: p.Website, Tags: p.Tags,
			JoinedAt: date(p.JoinedAt), LeftAt: date(p.LeftAt)}
		if err := dp.Validate(); err != nil {
			t.Errorf("partner %s: %v", p.ID, err)
		}
		if ids[p.ID] {
			t.Errorf("partner id %s twice", p.ID)
		}
		ids[p.ID] = true
	}
	for _, c := range d.Contacts {
		dc := directory.Contact{ID: c.ID, PartnerID: c.PartnerID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
			Persona: c.Persona, Title: c.Title, Timezone: c.Timezone, Locale: c.Locale, Consent: c.Consent}
		if err := dc.Validate(); err != nil {
			t.Errorf("contact %s: %v", c.ID, err)
		}
		if emails[c.Email] || !ids[c.PartnerID] {
			t.Errorf("contact %s: email %s used twice or partner %s unknown", c.ID, c.Email, c.PartnerID)
		}
		emails[c.Email] = true
	}
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// The history is valid canonical events, results dated between joining
// and leaving and a month before now (recent deals would hand partners
// off before the live stream does), each deal and purchase with a value
// and an origin.
func TestHistoryEvents(t *testing.T) {
	t.Parallel()
	d := generate(t, 3, 1000)
	partnerOf := map[string]demo.Partner{}
	for _, p := range d.Partners {
		for _, c := range d.ContactsOf(p.ID) {
			partnerOf[c.ID] = p
		}
	}
	seen := map[string]bool{}
	results := 0
	for i, ev := range d.History {
		if err := ev.Validate(); err != nil {
			t.Fatalf("history[%d]: %v", i, err)
		}
		if seen[ev.ID] || ev.ID != fmt.Sprintf("demo:3:h%d", i+1) {
			t.Fatalf("history[%d] has id %s", i, ev.ID)
		}
		seen[ev.ID] = true
		if i > 0 && ev.OccurredAt.Before(d.History[i-1].OccurredAt) {
			t.Fatalf("history[%d] is older than the one before", i)
		}
		if !ev.OccurredAt.Before(now) {
			t.Fatalf("history[%d] is at %s, not before now", i, ev.OccurredAt)
		}
		if ev.Type != event.DealRegistered && ev.Type != event.Purchase {
			continue
		}
		results++
		p := partnerOf[ev.ContactID]
		if ev.Value <= 0 || ev.Origin == "" || ev.OccurredAt.After(now.AddDate(0, 0, -30)) ||
			(!p.JoinedAt.IsZero() && ev.OccurredAt.Before(p.JoinedAt)) || (!p.LeftAt.IsZero() && ev.OccurredAt.After(p.LeftAt)) {
			t.Errorf("history[%d] %+v of partner %s (joined %s, left %s)", i, ev, p.ID, p.JoinedAt, p.LeftAt)
		}
	}
	if results < 1000 {
		t.Errorf("%d deals and purchases for 1000 partners over two years, want more", results)
	}
}

// Issue #15: "The 15–30% churn figure is reproduced by the demo data's
// generator and shown by program kpis": the program package's own KPI
// computation over the generator's facts, at every size and seed the
// demo runs, with productive cohorts, times to productivity and sourcing.
func TestChurnIsBetween15And30Percent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		seed     uint64
		partners int
	}{{1, 5000}, {2, 5000}, {1, 150}, {1, 300}, {2, 300}, {3, 300}, {4, 1000}} {
		t.Run(fmt.Sprintf("seed %d, %d partners", tc.seed, tc.partners), func(t *testing.T) {
			t.Parallel()
			d := generate(t, tc.seed, tc.partners)
			k := program.KPIs(d.Facts(), program.DefaultConfig(), now)
			if k.ChurnRate < 0.15 || k.ChurnRate > 0.30 {
				t.Errorf("churn rate %.3f (%d of %d), want between 0.15 and 0.30", k.ChurnRate, k.Churned, k.Partners)
			}
			if k.WithoutCohort == 0 || k.Partners+k.WithoutCohort != tc.partners {
				t.Errorf("%d partners in cohorts and %d without, want a few without and %d in all", k.Partners, k.WithoutCohort, tc.partners)
			}
			if len(k.Cohorts) < 8 {
				t.Errorf("%d cohorts, want two years of quarters", len(k.Cohorts))
			}
			productive := 0
			for _, c := range k.Cohorts {
				productive += c.Productive
				if c.Partners >= 20 && c.Quarter.Start().Before(now.AddDate(-1, 0, 0)) && (c.ProductiveShare < 0.3 || c.MedianDays == nil) {
					t.Errorf("cohort %s: %d of %d productive, median %v: want a productive old cohort", c.Quarter, c.Productive, c.Partners, c.MedianDays)
				}
			}
			if productive != k.Productive || k.Productive < k.Partners/2 {
				t.Errorf("%d productive of %d", k.Productive, k.Partners)
			}
			if s := k.Sourcing.Deals.PartnerShare; s == nil || *s < 0.4 || *s > 0.8 {
				t.Errorf("partner-sourced share of deals %v, want about 60%%", s)
			}
			if k.DealCycle.All.Count == 0 {
				t.Error("no deal-to-purchase cycle in the last 12 months")
			}
		})
	}
}

// The live stream is a long tail: silent partners (and every partner
// that left) never appear; a minute at the default pace touches a few
// percent of the partners, and the handful of hottest ones take most of
// it, enough points for the hottest to cross the default threshold.
func TestStreamIsALongTail(t *testing.T) {
	t.Parallel()
	d := generate(t, 1, 0)
	partnerOf := map[string]demo.Partner{}
	for _, p := range d.Partners {
		for _, c := range d.ContactsOf(p.ID) {
			partnerOf[c.ID] = p
		}
	}
	// The default rubric's points, for a rough count.
	points := map[event.Type]float64{event.EmailOpen: 1, event.WebVisit: 3, event.EmailClick: 5, event.ContentDownload: 5,
		event.WebinarRegistered: 5, event.WebinarAttended: 10, event.EventAttended: 10}
	s := d.Stream()
	n := 60 * demo.BaseRate
	per := map[string]int{}
	pts := map[string]float64{}
	for i := range n {
		ev := s.Next(now.Add(time.Duration(i) * time.Second / demo.BaseRate))
		if err := ev.Validate(); err != nil {
			t.Fatal(err)
		}
		p := partnerOf[ev.ContactID]
		if p.Profile == demo.Silent || !p.LeftAt.IsZero() {
			t.Fatalf("%s is %s (left %s) and engaged", p.ID, p.Profile, p.LeftAt)
		}
		per[p.ID]++
		pts[p.ID] += points[ev.Type]
	}
	if share := float64(len(per)) / float64(len(d.Partners)); share > 0.1 {
		t.Errorf("a minute touched %.1f%% of partners, want a few percent", 100*share)
	}
	counts := make([]int, 0, len(per))
	for _, c := range per {
		counts = append(counts, c)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	top := 0
	for _, c := range counts[:10] {
		top += c
	}
	if top < n/3 {
		t.Errorf("the 10 most engaged partners got %d of %d events, want a third or more", top, n)
	}
	hot := d.Hottest(1)[0]
	if pts[hot.ID] < 60 {
		t.Errorf("the hottest partner %s gathered %.0f raw points in a minute, want twice the threshold", hot.ID, pts[hot.ID])
	}
}

// The CSV files carry every record with the importer's column names.
func TestCSVHasARowPerRecord(t *testing.T) {
	t.Parallel()
	d := generate(t, 5, 50)
	for _, tc := range []struct {
		write  func(*bytes.Buffer) error
		header string
		rows   int
	}{
		{func(b *bytes.Buffer) error { return d.WriteRepsCSV(b) }, "id,name,email,phone,regions,daily_capacity,active,signature,timezone", len(d.Reps)},
		{func(b *bytes.Buffer) error { return d.WritePartnersCSV(b) }, "id,name,type,tier,region,country,timezone,owner_rep_id,tags,website,joined_at,left_at", len(d.Partners)},
		{func(b *bytes.Buffer) error { return d.WriteContactsCSV(b) }, "id,partner_id,email,first_name,last_name,persona,timezone,locale,consent,title", len(d.Contacts)},
	} {
		var b bytes.Buffer
		if err := tc.write(&b); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(recs[0]); got != fmt.Sprint(strings.Split(tc.header, ",")) || len(recs) != tc.rows+1 {
			t.Errorf("header %v and %d rows, want %s and %d", recs[0], len(recs)-1, tc.header, tc.rows)
		}
	}
}
