package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/longtailhq/longtail/event"
)

// Shape of the program history. The churn the issue quotes (15–30% of
// partners) comes out of these: about one in ten partners that joined
// three months ago or more left, and of those past their first year,
// the ones that never brought a result (a third of the bottom tier)
// count as churned too (program.Stage).
var (
	// productiveOdds is the chance a partner ever brings a result.
	productiveOdds = map[string]float64{"registered": 0.62, "silver": 0.92, "gold": 1}
	// firstResultDays is the mean time from joining to the first deal.
	firstResultDays = map[string]float64{"registered": 130, "silver": 75, "gold": 45}
	// dealsPerYear once productive.
	dealsPerYear = map[string]float64{"registered": 1.5, "silver": 4, "gold": 9}
	// dealValue is the median deal, in program.currency.
	dealValue = map[string]float64{"registered": 6000, "silver": 12000, "gold": 25000}
	// partnerSourced is the share of deals the partner found itself.
	partnerSourced = map[string]float64{"registered": 0.55, "silver": 0.65, "gold": 0.7}
)

const (
	// purchaseOdds: the share of deals that close as a purchase.
	purchaseOdds = 0.7
	// quietDays: no deal or purchase in the last month of history. A
	// registered deal scores 15 points, so recent ones would hand off
	// partners before the live stream starts and use up the reps' day:
	// the demo's hand-offs are the live engagement's.
	quietDays = 30
)

// products deals and purchases are about, for their titles.
var products = []string{"Security Suite", "Backup Pro", "Storage Array S2", "Cloud Connect", "Endpoint Shield"}

// history draws the program's past and the recent engagement of d's
// partners, oldest first, with ids in that order.
func history(r *rand.Rand, d *Dataset) []event.Event {
	now := d.Config.Now
	resultsEnd := now.AddDate(0, 0, -quietDays)
	var out []event.Event
	for i, p := range d.Partners {
		owner := d.Contacts[d.contacts[i][0]]
		start := p.JoinedAt
		if start.IsZero() {
			start = now.AddDate(0, 0, -HistoryDays) // a legacy partner: in before the records
		}
		end := resultsEnd
		if !p.LeftAt.IsZero() && p.LeftAt.Before(end) {
			end = p.LeftAt
		}
		if r.Float64() < productiveOdds[p.Tier] {
			t := start.Add(days(r.ExpFloat64() * firstResultDays[p.Tier]))
			for t.Before(end) {
				product := one(r, products)
				deal := resultEvent(r, event.DealRegistered, owner, t, dealValue[p.Tier]*math.Exp(r.NormFloat64()*0.6), "Deal registered: "+product)
				if !deal.OccurredAt.Before(end) {
					break
				}
				if r.Float64() < partnerSourced[p.Tier] {
					deal.Origin = event.OriginPartner
				} else {
					deal.Origin = event.OriginVendor
				}
				out = append(out, deal)
				if buy := t.Add(days(14 + r.Float64()*86)); r.Float64() < purchaseOdds {
					pe := resultEvent(r, event.Purchase, owner, buy, deal.Value*(0.8+0.4*r.Float64()), "Purchase: "+product)
					pe.Origin = deal.Origin
					if pe.OccurredAt.Before(end) {
						out = append(out, pe)
					}
				}
				t = t.Add(days(r.ExpFloat64() * 365 / dealsPerYear[p.Tier]))
			}
		}
		out = append(out, recentEngagement(r, d, i, now)...)
	}
	slices.SortStableFunc(out, func(a, b event.Event) int { return a.OccurredAt.Compare(b.OccurredAt) })
	for k := range out {
		out[k].ID = fmt.Sprintf("demo:%d:h%d", d.Config.Seed, k+1)
	}
	return out
}

func days(f float64) time.Duration { return time.Duration(f * 24 * float64(time.Hour)) }

// resultEvent is a deal or purchase of value (rounded to 100) by c at t,
// during office hours.
func resultEvent(r *rand.Rand, typ event.Type, c Contact, t time.Time, value float64, title string) event.Event {
	at := day(t).Add(time.Duration(8*3600+r.IntN(9*3600)) * time.Second)
	return event.Event{
		Type: typ, ContactID: c.ID, OccurredAt: at, Source: "demo",
		Value: math.Max(100, math.Round(value/100)*100),
		Title: title,
	}
}

// recentEngagement is what ambient and warming partners did in the last
// 90 days: a few opens, visits and webinars, so RFM's frequency has
// something to rank. Topics are ones no shipped flow triggers on (old
// events would enrol people in webinars long past).
func recentEngagement(r *rand.Rand, d *Dataset, i int, now time.Time) []event.Event {
	var n int
	switch d.Partners[i].Profile {
	case Ambient:
		n = 1 + r.IntN(4)
	case Warming:
		n = 2 + r.IntN(5)
	default:
		return nil
	}
	out := make([]event.Event, 0, n)
	for range n {
		c := d.Contacts[d.contacts[i][r.IntN(len(d.contacts[i]))]]
		at := now.Add(-days(1 + r.Float64()*89)).Truncate(time.Second)
		ev := event.Event{ContactID: c.ID, OccurredAt: at, Source: "demo"}
		switch x := r.Float64(); {
		case x < 0.5:
			ev.Type, ev.Title, ev.Topic = event.EmailOpen, "Partner newsletter: what's new this quarter", "newsletter"
			ev.MessageID = fmt.Sprintf("demo-newsletter-%s-%d", c.ID, at.Unix())
		case x < 0.85:
			ev.Type, ev.Title, ev.Topic = event.WebVisit, "Backup Pro for small businesses", "storage"
			ev.URL = "https://vendor.example/products/backup-pro"
		default:
			ev.Type, ev.Title, ev.Topic = event.WebinarAttended, "What's new in Storage Array S2", "storage"
		}
		out = append(out, ev)
	}
	return out
}
