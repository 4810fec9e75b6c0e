package scoring

import (
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// typeRule is what scoring knows of an event type besides the configured
// points and caps: its stored code, its default points and daily cap, and
// which of the message rules judge applies to it. A new event type is one
// entry here (and its points and cap can be configured at once).
type typeRule struct {
	// code names the type inside stored records (explain aggregates,
	// daily-cap counters, timeline items), to keep contacts small. Stored:
	// never change or reuse one.
	code string
	// points and dailyCap are the defaults of scoring.points and
	// scoring.daily_caps (0: none).
	points   float64
	dailyCap int
	// machine is why an event the provider flags as a machine's
	// (Event.Machine) scores 0, "" when the flag does not matter.
	machine string
	// scanners: a link scanner's user agent makes it a scanner click.
	scanners bool
	// delivery: it remembers its message's delivery time, for the
	// scanner window.
	delivery bool
	// scannerWindow: less than ScannerClickWindow after its message's
	// delivery, it is a scanner's click.
	scannerWindow bool
	// valuePoints: the event carries its points in Value (a nurture score
	// step's), taken as they are instead of the configured points.
	valuePoints bool
	// perMessage is the marker kind that makes it count once per message
	// (store.KindOpen, store.KindClick), 0 when it does not.
	perMessage byte
}

// typeRules are the event types scoring knows: every event.Type.
var typeRules = map[event.Type]typeRule{
	event.EmailDelivered: {code: "dl", delivery: true},
	event.EmailOpen: {code: "op", points: 1, dailyCap: 10, machine: FilteredMachineOpen,
		perMessage: store.KindOpen},
	event.EmailClick: {code: "cl", points: 5, dailyCap: 10, machine: FilteredScannerClick, scanners: true,
		scannerWindow: true, perMessage: store.KindClick},
	event.EmailBounce:       {code: "bo"},
	event.EmailSpam:         {code: "sp", points: -20},
	event.EmailUnsubscribe:  {code: "un", points: -10},
	event.EmailReply:        {code: "re", points: 8},
	event.WebVisit:          {code: "wv", points: 3, dailyCap: 10},
	event.ContentDownload:   {code: "cd", points: 5, dailyCap: 5},
	event.WebinarRegistered: {code: "wr", points: 5},
	event.WebinarAttended:   {code: "wa", points: 10},
	event.EventAttended:     {code: "ea", points: 10},
	event.DealRegistered:    {code: "dr", points: 15},
	// deal.won (what a rep's converted outcome records) scores 0 by
	// default: a won deal is the result of a call, not interest to call
	// about, and points would push a partner that just bought back toward
	// a second hand-off. Its value feeds RFM monetary either way;
	// scoring.points.deal.won gives it points where a rubric wants them.
	event.DealWon:  {code: "dw"},
	event.Purchase: {code: "pu"},
	// nurture.score is a flow's score step; its points are the step's.
	event.NurtureScore: {code: "ns", valuePoints: true},
}

// typeOfCode inverts the codes of rules.
func typeOfCode(rules map[event.Type]typeRule, code string) (event.Type, bool) {
	for t, r := range rules {
		if r.code == code {
			return t, true
		}
	}
	return "", false
}
