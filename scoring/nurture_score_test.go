package scoring_test

import (
	"testing"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring"
)

// A nurture score step's points travel in the event's Value and count as
// they are: neither the configured points (0) nor topic multipliers or
// rules change them.
func TestNurtureScorePointsAreTheSteps(t *testing.T) {
	t.Parallel()
	cfg := scoring.Config{}.WithDefaults()
	cfg.Rules = append(cfg.Rules, scoring.Rule{Name: "tech", Persona: "technical", Multiplier: 3})
	r, err := scoring.NewRubric(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{5, -7} {
		ev := event.Event{ID: "n", Type: event.NurtureScore, ContactID: "c", OccurredAt: time.Unix(1e9, 0), Value: v}
		if got, why := r.Points(ev, scoring.Target{Persona: "technical"}); got != v || why != "" {
			t.Errorf("value %v: points %v (%q), want %v", v, got, why, v)
		}
	}
}
