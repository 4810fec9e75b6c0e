package demo

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/longtailhq/longtail/event"
)

// BaseRate is the live stream's pace at speed 1, in events a second, as
// `longtail demo` posts it: enough, on the default data set, for the
// hottest partners to cross the default threshold (30) within the first
// minute while the rest of the few percent warm up over the next ones.
const BaseRate = 10

// Stream is the live engagement of a data set: an endless, deterministic
// sequence of events of its ambient and warming partners, each partner
// drawn in proportion to its heat. It is not safe for concurrent use.
type Stream struct {
	d *Dataset
	r *rand.Rand
	// cum[k] is the heat of hot[0..k]; hot lists the partners that engage.
	cum []float64
	hot []int
	n   int
}

// Stream starts the data set's live stream from its beginning.
func (d *Dataset) Stream() *Stream {
	s := &Stream{d: d, r: rand.New(rand.NewPCG(d.Config.Seed, 0x6c697665))} // "live"
	total := 0.0
	for i, p := range d.Partners {
		if p.Heat > 0 {
			total += p.Heat
			s.hot = append(s.hot, i)
			s.cum = append(s.cum, total)
		}
	}
	return s
}

// touch is one kind of engagement: what it was about, for the topic that
// scores interest and the title a rep reads in the reasons to call.
type touch struct {
	typ          event.Type
	title, topic string
	url          string
}

// warmTouches are what a warming partner's people do. Some topics start
// a shipped flow (a deal-registration download, a visit to the tier page
// or the security offer), as they would for real.
var warmTouches = []weighted[touch]{
	{touch{event.EmailOpen, "Deal registration in 3 clicks", "deal-registration", ""}, 14},
	{touch{event.EmailOpen, "New security offer: what changes for your customers", "security", ""}, 14},
	{touch{event.WebVisit, "Security Suite for SMBs", "security", "https://vendor.example/security/smb"}, 10},
	{touch{event.WebVisit, "Register a deal", "deal-registration", "https://vendor.example/partners/deal-registration"}, 8},
	{touch{event.WebVisit, "Partner tiers: what silver and gold bring", "partner-program", "https://vendor.example/partners/program/tiers"}, 6},
	{touch{event.WebVisit, "Certifications for partner engineers", "certification", "https://vendor.example/partners/certification"}, 6},
	{touch{event.EmailClick, "Deal registration in 3 clicks", "deal-registration", "https://vendor.example/partners/deal-registration"}, 8},
	{touch{event.EmailClick, "New security offer: what changes for your customers", "security", "https://vendor.example/security/offer"}, 7},
	{touch{event.ContentDownload, "Deal registration in 3 clicks (PDF)", "deal-registration", "https://vendor.example/docs/dealreg.pdf"}, 5},
	{touch{event.ContentDownload, "Security Suite datasheet", "security", "https://vendor.example/docs/security-suite.pdf"}, 5},
	{touch{event.WebinarRegistered, "Securing SMB storage", "security", ""}, 7},
	{touch{event.WebinarAttended, "Securing SMB storage", "security", ""}, 6},
	{touch{event.EventAttended, "Partner Summit", "partner-program", ""}, 4},
}

// ambientTouches are the occasional open or visit of the ambient tail.
var ambientTouches = []weighted[touch]{
	{touch{event.EmailOpen, "Partner newsletter: what's new this quarter", "newsletter", ""}, 6},
	{touch{event.WebVisit, "Backup Pro for small businesses", "storage", "https://vendor.example/products/backup-pro"}, 4},
}

// Next returns the stream's next event, dated at (truncated to the
// millisecond, as timelines keep it). Its id is "demo:<seed>:l<n>", n
// counting from 1.
func (s *Stream) Next(at time.Time) event.Event {
	s.n++
	ev := event.Event{ID: fmt.Sprintf("demo:%d:l%d", s.d.Config.Seed, s.n), OccurredAt: at.Truncate(time.Millisecond), Source: "demo"}
	if len(s.hot) == 0 {
		// A data set with nobody engaging (one partner that left): the
		// first contact reads the newsletter, so the stream still flows.
		ev.Type, ev.ContactID, ev.Title, ev.Topic = event.EmailOpen, s.d.Contacts[0].ID, ambientTouches[0].v.title, "newsletter"
		ev.MessageID = ev.ID
		return ev
	}
	x := s.r.Float64() * s.cum[len(s.cum)-1]
	i := s.hot[min(sort.SearchFloat64s(s.cum, x), len(s.hot)-1)]
	p := &s.d.Partners[i]
	// The first people of a partner (its owner, then the others in
	// order) engage more: one of them is the contact a rep calls.
	cs := s.d.contacts[i]
	weights := make([]weighted[int], len(cs))
	for k, ci := range cs {
		weights[k] = weighted[int]{ci, 1 / float64(k+1)}
	}
	ev.ContactID = s.d.Contacts[pick(s.r, weights)].ID
	touches := warmTouches
	if p.Profile == Ambient {
		touches = ambientTouches
	}
	t := pick(s.r, touches)
	ev.Type, ev.Title, ev.Topic, ev.URL = t.typ, t.title, t.topic, t.url
	if t.typ == event.EmailOpen || t.typ == event.EmailClick {
		// Each is a different campaign email: a second open of one
		// message does not score.
		ev.MessageID = ev.ID
	}
	return ev
}
