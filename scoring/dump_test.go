package scoring

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/longtailhq/longtail/event"
)

func TestDump(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{DailyCaps: map[event.Type]int{event.WebVisit: 2}})
	tg := Target{PartnerID: "p", ContactID: "c"}
	delivered := t0.Add(-time.Hour)
	visit := func(id string) event.Event {
		e := ev(id, event.WebVisit, t0)
		e.Topic = "security"
		return e
	}
	b.apply(t, tg, msgEv("d1", event.EmailDelivered, "m1", delivered), msgEv("o1", event.EmailOpen, "m1", t0), visit("v1"))
	b.clock.Advance(time.Minute)
	b.apply(t, tg, visit("v2"), msgEv("o1", event.EmailOpen, "m1", t0), visit("v3"))

	got, err := b.eng.Dump(b.ctx, "p", "c")
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != contactScoreKey("p", "c") || got.Bytes != len(b.rdb.Get(b.ctx, got.Key).Val()) || got.Malformed != "" {
		t.Errorf("dump %s of %d bytes, malformed %q", got.Key, got.Bytes, got.Malformed)
	}
	if h := got.Header; h == nil || !near(h.Score, 7, 1e-4) || h.Compactions != 0 || len(h.WriteToken) != 16 ||
		!h.NextCompaction.Equal(t0.Add(7*Day)) || h.CompactPastBytes != 4096 {
		t.Errorf("header %+v", got.Header)
	}
	type rec struct {
		Kind, EventID, MessageID string
		Type                     event.Type
		Count                    int
		Live                     bool
	}
	var recs []rec
	for _, r := range got.Records {
		recs = append(recs, rec{r.Kind, r.EventID, r.MessageID, r.Type, r.Count, r.Live})
	}
	want := []rec{
		{Kind: "event_id", EventID: "d1", Live: true},
		{Kind: "delivery", MessageID: "m1", Live: true},
		{Kind: "event_id", EventID: "o1", Live: true},
		{Kind: "open", MessageID: "m1", Live: true},
		{Kind: "event_id", EventID: "v1", Live: true},
		{Kind: "daily_cap", Type: event.EmailOpen, Count: 1, Live: true},
		{Kind: "daily_cap", Type: event.WebVisit, Count: 1}, // superseded by the second batch's
		{Kind: "explain"}, {Kind: "explain"},
		{Kind: "event_id", EventID: "v2", Live: true},
		{Kind: "event_id", EventID: "v3", Live: true},
		{Kind: "daily_cap", Type: event.WebVisit, Count: 2, Live: true},
		{Kind: "explain"}, {Kind: "explain"},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("records (-want, +got):\n%s", diff)
	}
	if r := got.Records[1]; r.DeliveredAt == nil || !r.DeliveredAt.Equal(delivered) {
		t.Errorf("delivery record %+v, want delivered at %v", r, delivered)
	}
	if r := got.Records[6]; r.Day != "2026-11-20" || r.Expires == nil {
		t.Errorf("daily cap record %+v, want day 2026-11-20 and an expiry", r)
	}
	if x := got.Records[12].Explain; x == nil || x.Type != event.WebVisit || x.Topic != "security" || x.Count != 1 ||
		x.Points != 3 || x.Filtered[FilteredDailyCap] != 1 {
		t.Errorf("second batch's visit deltas %+v", x)
	}
	ex, err := b.eng.Explain(b.ctx, "p", []string{"c"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ex.Contacts[0].Items, got.Explain, cmpopts.SortSlices(func(a, b ExplainItem) bool { return a.Type < b.Type })); diff != "" {
		t.Errorf("explain (-Explain, +Dump):\n%s", diff)
	}
	c, err := b.eng.Contact(b.ctx, "p", "c")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c.Interests, got.Interests); diff != "" {
		t.Errorf("interests (-Contact, +Dump):\n%s", diff)
	}
	var ids []string
	for _, it := range got.Timeline {
		ids = append(ids, it.ID)
	}
	if got := strings.Join(ids, ","); got != "v3,v2,v1,o1,d1" {
		t.Errorf("timeline %s, want v3,v2,v1,o1,d1 (the duplicate has no item)", got)
	}

	// Nothing stored; a string that stops decoding part way.
	if d, err := b.eng.Dump(b.ctx, "p", "nobody"); err != nil || d.Header != nil || len(d.Records) != 0 {
		t.Errorf("unknown contact: %+v, %v", d, err)
	}
	if err := b.rdb.Append(b.ctx, contactScoreKey("p", "c"), "z").Err(); err != nil {
		t.Fatal(err)
	}
	d, err := b.eng.Dump(b.ctx, "p", "c")
	if err != nil || len(d.Records) != len(got.Records) || !strings.Contains(d.Malformed, "unknown record") {
		t.Errorf("malformed contact: %d records, %q, %v", len(d.Records), d.Malformed, err)
	}
}
