package ingest_test

import (
	"testing"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ingest"
)

func TestTopicsAssign(t *testing.T) {
	t.Parallel()
	topics, err := ingest.NewTopics([]ingest.TopicRule{
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

func TestNewTopicsRejectsBadRules(t *testing.T) {
	t.Parallel()
	for _, rules := range [][]ingest.TopicRule{
		{{Topic: "Security", Tags: []string{"s"}}},
		{{Topic: "security"}},
	} {
		if _, err := ingest.NewTopics(rules); err == nil {
			t.Errorf("NewTopics(%+v) succeeded", rules)
		}
	}
}
