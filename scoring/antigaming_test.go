package scoring

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

func msgEv(id string, typ event.Type, msg string, at time.Time) event.Event {
	e := ev(id, typ, at)
	e.MessageID = msg
	return e
}

func TestAntiGaming(t *testing.T) {
	t.Parallel()
	delivered := t0.Add(-time.Minute)
	machineOpen := msgEv("mo", event.EmailOpen, "m1", t0)
	machineOpen.Machine, machineOpen.MachineReason = true, "apple_mpp"
	uaClick := msgEv("ua", event.EmailClick, "m1", t0)
	uaClick.UserAgent = "Mozilla/5.0 (compatible; Barracuda Sentinel)"
	botClick := msgEv("bc", event.EmailClick, "m1", t0)
	botClick.Machine = true
	fastClick := msgEv("fc", event.EmailClick, "m1", delivered.Add(3*time.Second))
	fastClick.DeliveredAt = &delivered
	slowClick := msgEv("sc", event.EmailClick, "m1", delivered.Add(30*time.Second))
	slowClick.DeliveredAt = &delivered
	hard := ev("hb", event.EmailBounce, t0)
	hard.Bounce = event.BounceHard
	soft := ev("sb", event.EmailBounce, t0)
	soft.Bounce = event.BounceSoft

	type want struct {
		id       string
		points   float64
		filtered string
	}
	tests := []struct {
		name       string
		batches    [][]event.Event
		want       []want // results of the last batch
		score      float64
		suppressed string
		timeline   int
	}{
		{
			name:    "second open of a message is recorded, not scored",
			batches: [][]event.Event{{msgEv("o1", event.EmailOpen, "m1", t0)}, {msgEv("o2", event.EmailOpen, "m1", t0)}},
			want:    []want{{"o2", 0, FilteredPerMessage}}, score: 1, timeline: 2,
		},
		{
			name:    "open of another message scores",
			batches: [][]event.Event{{msgEv("o1", event.EmailOpen, "m1", t0), msgEv("o2", event.EmailOpen, "m2", t0)}},
			want:    []want{{"o1", 1, ""}, {"o2", 1, ""}}, score: 2, timeline: 2,
		},
		{
			name:    "second click of a message in the same batch",
			batches: [][]event.Event{{msgEv("c1", event.EmailClick, "m1", t0), msgEv("c2", event.EmailClick, "m1", t0)}},
			want:    []want{{"c1", 5, ""}, {"c2", 0, FilteredPerMessage}}, score: 5, timeline: 2,
		},
		{
			name:    "machine open scores 0 and does not use up the message's open",
			batches: [][]event.Event{{machineOpen, msgEv("o1", event.EmailOpen, "m1", t0)}},
			want:    []want{{"mo", 0, FilteredMachineOpen}, {"o1", 1, ""}}, score: 1, timeline: 2,
		},
		{
			name:    "scanner user agent",
			batches: [][]event.Event{{uaClick}},
			want:    []want{{"ua", 0, FilteredScannerClick}}, score: 0, timeline: 1,
		},
		{
			name:    "provider bot-flagged click",
			batches: [][]event.Event{{botClick}},
			want:    []want{{"bc", 0, FilteredScannerClick}}, score: 0, timeline: 1,
		},
		{
			name:    "click seconds after delivered_at on the same payload",
			batches: [][]event.Event{{fastClick, slowClick}},
			want:    []want{{"fc", 0, FilteredScannerClick}, {"sc", 5, ""}}, score: 5, timeline: 2,
		},
		{
			name: "click seconds after an earlier email.delivered event",
			batches: [][]event.Event{
				{msgEv("dl", event.EmailDelivered, "m1", delivered)},
				{msgEv("c1", event.EmailClick, "m1", delivered.Add(2*time.Second)), msgEv("c2", event.EmailClick, "m2", delivered.Add(2*time.Second))},
			},
			want: []want{{"c1", 0, FilteredScannerClick}, {"c2", 5, ""}}, score: 5, timeline: 3,
		},
		{
			name:    "unsubscribe takes points away and suppresses",
			batches: [][]event.Event{{ev("w", event.WebinarAttended, t0)}, {ev("u", event.EmailUnsubscribe, t0)}},
			want:    []want{{"u", -10, ""}}, score: 0, suppressed: SuppressedUnsubscribe, timeline: 2,
		},
		{
			name:    "spam complaint",
			batches: [][]event.Event{{ev("s", event.EmailSpam, t0)}},
			want:    []want{{"s", -20, ""}}, score: -20, suppressed: SuppressedSpam, timeline: 1,
		},
		{
			name:    "hard bounce suppresses",
			batches: [][]event.Event{{hard}},
			want:    []want{{"hb", 0, ""}}, score: 0, suppressed: SuppressedHardBounce, timeline: 1,
		},
		{
			name:    "soft bounce does not suppress",
			batches: [][]event.Event{{soft}},
			want:    []want{{"sb", 0, ""}}, score: 0, timeline: 1,
		},
		{
			name:    "duplicate in the same batch",
			batches: [][]event.Event{{ev("w", event.WebVisit, t0), ev("w", event.WebVisit, t0)}},
			want:    []want{{"w", 3, ""}, {"w", 0, FilteredDuplicate}}, score: 3, timeline: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{})
			tg := Target{PartnerID: "p", ContactID: "c"}
			var res *Result
			for _, batch := range tt.batches {
				res = b.apply(t, tg, batch...)
			}
			var got []want
			for _, r := range res.Events {
				got = append(got, want{r.ID, r.Points, r.Filtered})
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("events (-want, +got):\n%s", diff)
			}
			c, err := b.eng.Contact(b.ctx, "p", "c")
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(c.Score-tt.score) > 1e-3 { // some events are seconds old
				t.Errorf("score %v, want %v", c.Score, tt.score)
			}
			if c.Suppressed != tt.suppressed {
				t.Errorf("suppressed %q, want %q", c.Suppressed, tt.suppressed)
			}
			if len(c.Timeline) != tt.timeline {
				t.Errorf("timeline has %d items, want %d", len(c.Timeline), tt.timeline)
			}
			for _, it := range c.Timeline {
				for _, w := range tt.want {
					if w.id == it.ID && w.filtered != FilteredDuplicate && it.Filtered != w.filtered {
						t.Errorf("timeline item %s filtered %q, want %q", it.ID, it.Filtered, w.filtered)
					}
				}
			}
		})
	}
}

func TestDailyCap(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{DailyCaps: map[event.Type]int{event.WebVisit: 3, event.EmailOpen: 0}})
	tg := Target{PartnerID: "p", ContactID: "c"}
	day1 := t0.Add(-30 * time.Hour)
	var batch []event.Event
	for i := range 5 {
		batch = append(batch, ev(fmt.Sprintf("v%d", i), event.WebVisit, t0.Add(-time.Duration(i)*time.Minute)))
	}
	res := b.apply(t, tg, batch...)
	var filtered []string
	for _, r := range res.Events {
		filtered = append(filtered, r.Filtered)
	}
	if diff := cmp.Diff([]string{"", "", "", FilteredDailyCap, FilteredDailyCap}, filtered); diff != "" {
		t.Errorf("filtered (-want, +got):\n%s", diff)
	}
	// Another day has its own cap; a later batch of the same day is still capped.
	res = b.apply(t, tg, ev("y1", event.WebVisit, day1), ev("v9", event.WebVisit, t0))
	if res.Events[0].Filtered != "" || res.Events[1].Filtered != FilteredDailyCap {
		t.Errorf("second batch = %+v, want yesterday scored and today capped", res.Events)
	}
	// email.open cap removed by an explicit 0.
	batch = batch[:0]
	for i := range 15 {
		batch = append(batch, ev(fmt.Sprintf("o%d", i), event.EmailOpen, t0))
	}
	res = b.apply(t, tg, batch...)
	for _, r := range res.Events {
		if r.Filtered != "" {
			t.Fatalf("open %s filtered %q with its cap removed", r.ID, r.Filtered)
		}
	}
	ex, err := b.eng.Explain(b.ctx, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	var visits ExplainItem
	for _, it := range ex.Contacts[0].Items {
		if it.Type == event.WebVisit {
			visits = it
		}
	}
	if visits.Count != 4 || visits.Points != 12 || visits.Filtered[FilteredDailyCap] != 3 {
		t.Errorf("explain web.visit = %+v, want 4 counted, 12 points, 3 capped", visits)
	}
}

func TestDedupRetention(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	e := ev("x", event.WebVisit, t0)
	b.apply(t, tg, e)
	b.clock.Advance(71 * time.Hour)
	if res := b.apply(t, tg, e); !res.Events[0].Duplicate {
		t.Fatal("redelivery after 71h was scored again; ids must be kept 72h")
	}
	b.clock.Advance(2 * time.Hour)
	if res := b.apply(t, tg, e); res.Events[0].Duplicate {
		t.Fatal("id still remembered 73h after it was seen")
	}
	// Expired ids are pruned from Redis, not only ignored.
	b.clock.Advance(40 * Day)
	b.apply(t, tg, ev("y", event.EmailDelivered, b.clock.Now()))
	blob, err := b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Result()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string // of the seen markers, expired or not
	err = store.Walk(blob[store.HeaderLen:], func(kind byte, key, _ string) {
		if kind != 'x' {
			keys = append(keys, key)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if id := store.Digest("i", "y"); len(keys) != 1 || keys[0] != "i"+string(id[:]) { // the id of "y"
		t.Fatalf("seen markers %q after 40 days, want expired ones pruned", keys)
	}
}

// TestDeliveryKeptWhileClicksCanArrive: a delivery is remembered while a
// click in its scanner window can still be reported (the window plus the
// dedup retention), then dropped, unlike opens and clicks, which count
// once per message for MessageRetention.
func TestDeliveryKeptWhileClicksCanArrive(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	delivered := t0.Add(-time.Hour)
	b.apply(t, tg, msgEv("dl", event.EmailDelivered, "m1", delivered), msgEv("o", event.EmailOpen, "m1", t0))
	b.clock.Advance(71 * time.Hour)
	res := b.apply(t, tg, msgEv("c1", event.EmailClick, "m1", delivered.Add(2*time.Second)))
	if got := res.Events[0].Filtered; got != FilteredScannerClick {
		t.Fatalf("click 2 s after a delivery reported 71 h later: filtered %q, want %q", got, FilteredScannerClick)
	}
	b.clock.Advance(2 * time.Hour)
	live := liveMarkers(t, b.rdb.Get(b.ctx, contactScoreKey("p", "c")).Val(), floorDiv(sinceEpoch(b.clock.Now()), 60000))
	var kinds []byte
	for k := range live {
		kinds = append(kinds, k[0])
	}
	if slices.Contains(kinds, 'd') || !slices.Contains(kinds, 'o') {
		t.Errorf("live markers after 73 h: kinds %q, want the open and no delivery", kinds)
	}
}

// liveMarkers is what a stored contact's seen markers say at nowM: per
// key, the payload of its newest unexpired record.
func liveMarkers(t *testing.T, s string, nowM int64) map[string]string {
	t.Helper()
	out := map[string]string{}
	if s == "" {
		return out
	}
	err := store.Walk(s[store.HeaderLen:], func(kind byte, key, rec string) {
		if kind == store.KindExplain {
			return
		}
		if store.Expiry(rec, len(key)) > nowM {
			out[key] = rec[len(key)+4:]
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
