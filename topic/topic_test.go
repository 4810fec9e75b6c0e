package topic_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/topic"
)

func TestRulesAssign(t *testing.T) {
	t.Parallel()
	topics, err := topic.NewRules([]topic.Rule{
		{Topic: "security", URLContains: []string{"/security"}, TitleContains: []string{"firewall"}},
		{Topic: "deal-registration", Tags: []string{"DealReg"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ev   event.Event
		want string
	}{
		{"explicit topic kept, lower-cased", event.Event{Topic: "Storage", URL: "https://x.example/security"}, "storage"},
		{"topic tag wins", event.Event{Tags: []string{"newsletter", "topic:Storage"}, URL: "https://x.example/security"}, "storage"},
		{"link parameter", event.Event{URL: "https://x.example/p?lt_topic=backup"}, "backup"},
		{"url rule", event.Event{URL: "https://vendor.example/SECURITY/new"}, "security"},
		{"title rule", event.Event{Title: "Next-gen Firewall webinar"}, "security"},
		{"tag rule case-insensitive", event.Event{Tags: []string{"dealreg"}}, "deal-registration"},
		{"nothing matches", event.Event{URL: "https://vendor.example/pricing", Tags: []string{"x"}}, ""},
		{"bad topic tag ignored", event.Event{Tags: []string{"topic:Not A Slug"}}, ""},
	}
	for _, tc := range tests {
		ev := tc.ev
		topics.Assign(&ev)
		if ev.Topic != tc.want {
			t.Errorf("%s: topic = %q, want %q", tc.name, ev.Topic, tc.want)
		}
	}
}

func TestNewRulesRejectsBadRules(t *testing.T) {
	t.Parallel()
	for _, rules := range [][]topic.Rule{
		{{Topic: "Security", Tags: []string{"s"}}},
		{{Topic: "security"}},
	} {
		if _, err := topic.NewRules(rules); err == nil {
			t.Errorf("NewRules(%+v) succeeded", rules)
		}
	}
}

// TestMain fails the test binary when a goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is the next sink: it keeps what it was given.
type recorder struct {
	got [][]event.Event
	err error
}

func (r *recorder) Record(_ context.Context, evs []event.Event) error {
	r.got = append(r.got, slices.Clone(evs))
	return r.err
}

func TestEdgeAssignsBeforeRecording(t *testing.T) {
	t.Parallel()
	rules, err := topic.NewRules([]topic.Rule{{Topic: "security", URLContains: []string{"/security"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		rules *topic.Rules
		in    []event.Event
		want  []string
	}{
		{"rules", rules, []event.Event{
			{ID: "a", URL: "https://vendor.example/security/edr"},
			{ID: "b", Tags: []string{"topic:storage"}},
			{ID: "c", Topic: "Backup"},
			{ID: "d", URL: "https://vendor.example/pricing"},
		}, []string{"security", "storage", "backup", ""}},
		{"no rules: tags and links only", nil, []event.Event{
			{ID: "a", URL: "https://vendor.example/security/edr"},
			{ID: "b", URL: "https://vendor.example/p?lt_topic=storage"},
		}, []string{"", "storage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			next := &recorder{}
			edge, err := topic.NewEdge(tt.rules, next)
			if err != nil {
				t.Fatal(err)
			}
			if err := edge.Record(context.Background(), tt.in); err != nil {
				t.Fatal(err)
			}
			if len(next.got) != 1 || len(next.got[0]) != len(tt.want) {
				t.Fatalf("next sink got %v, want one batch of %d", next.got, len(tt.want))
			}
			for i, ev := range next.got[0] {
				if ev.Topic != tt.want[i] {
					t.Errorf("event %s: topic %q, want %q", ev.ID, ev.Topic, tt.want[i])
				}
			}
		})
	}
}

func TestEdgePassesSinkErrors(t *testing.T) {
	t.Parallel()
	down := errors.New("redis away")
	edge, err := topic.NewEdge(nil, &recorder{err: down})
	if err != nil {
		t.Fatal(err)
	}
	if err := edge.Record(context.Background(), []event.Event{{ID: "a"}}); !errors.Is(err, down) {
		t.Errorf("Record = %v, want the sink's error", err)
	}
	if _, err := topic.NewEdge(nil, nil); err == nil {
		t.Error("NewEdge without a next sink succeeded")
	}
}
