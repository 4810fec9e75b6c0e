package demo

import (
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/program"
)

// Facts are the program view's facts of every partner as the service
// records them from this data set: tier, join and leave dates from the
// directory, deals (deal.registered) and purchases from the history's
// events. Engagement, scores and outcomes are left out: the KPIs do not
// read them. program.KPIs of these at the data set's Now is what `longtail
// program kpis` shows once the history is ingested.
func (d *Dataset) Facts() []program.Facts {
	out := make([]program.Facts, len(d.Partners))
	at := make(map[string]int, len(d.Partners))
	for i, p := range d.Partners {
		out[i] = program.Facts{PartnerID: p.ID, Tier: p.Tier, JoinedAt: p.JoinedAt, LeftAt: p.LeftAt}
		at[p.ID] = i
	}
	owner := make(map[string]int, len(d.Contacts))
	for _, c := range d.Contacts {
		owner[c.ID] = at[c.PartnerID]
	}
	for _, ev := range d.History {
		f := &out[owner[ev.ContactID]]
		r := program.Result{At: ev.OccurredAt, Value: ev.Value, Origin: program.Origin(ev.Origin)}
		switch ev.Type {
		case event.DealRegistered:
			f.Deals = append(f.Deals, r)
		case event.Purchase:
			f.Purchases = append(f.Purchases, r)
		}
	}
	return out
}
