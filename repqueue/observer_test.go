package repqueue

import (
	"strings"
	"sync"
	"testing"

	"github.com/longtailhq/longtail/directory"
)

// heard records what an Observer hears.
type heard struct {
	mu     sync.Mutex
	events []string
}

func (h *heard) HandedOff(route string) { h.add("handoff " + route) }
func (h *heard) OutcomeRecorded(kind string) {
	h.add("outcome " + kind)
}

func (h *heard) add(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, s)
}

func (h *heard) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.events, ", ")
}

// The observer hears each hand-off once with the rule that routed it,
// however often the hand-off is retried.
func TestObserverHearsTheRoutingRuleOnce(t *testing.T) {
	t.Parallel()
	emea := []Territory{{Name: "emea", Regions: []string{"emea"}, Reps: []string{"pool1"}}}
	tests := []struct {
		name    string
		cfg     Config
		partner directory.Partner
		want    string
	}{
		{"owner", Config{Territories: emea}, directory.Partner{OwnerRepID: "owner", Region: "emea"}, "handoff owner"},
		{"territory", Config{Territories: emea}, directory.Partner{Region: "emea"}, "handoff territory"},
		{"round robin", Config{Routing: []string{"round_robin"}}, directory.Partner{Region: "na"}, "handoff round_robin"},
		{"unrouted", Config{Routing: []string{"owner"}}, directory.Partner{Region: "na"}, "handoff unrouted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.cfg)
			h := &heard{}
			b.q.Observe(h)
			b.rep(t, "owner", 5)
			b.rep(t, "pool1", 5)
			p := tt.partner
			p.ID = "p1"
			b.partner(t, p)
			b.handoff(t, "p1")
			b.handoff(t, "p1") // a retried task
			if got := h.String(); got != tt.want {
				t.Errorf("heard %q, want %q", got, tt.want)
			}
		})
	}
}

// An outcome recorded again is heard once.
func TestObserverHearsAnOutcomeOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	b.rep(t, "owner", 5)
	h := &heard{}
	b.q.Observe(h)
	b.claimed(t, "p1")
	for range 2 {
		if _, err := b.q.RecordOutcome(b.ctx, "owner", "p1", Outcome{Kind: OutcomeNotAFit}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := h.String(), "handoff owner, outcome not_a_fit"; got != want {
		t.Errorf("heard %q, want %q", got, want)
	}
}
