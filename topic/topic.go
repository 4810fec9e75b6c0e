// Package topic gives events their interest topic at the edge, before they
// are queued: an explicit topic:<name> tag, an lt_topic link parameter,
// else the configured rules (tags, URL and title substrings). Every entry
// point (provider webhooks, POST /v1/events, the tracking pixel and links)
// records its events through one Edge, so none can skip the rules.
package topic

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/longtailhq/longtail/event"
)

// Rule names a topic and the signals that reveal it. A rule matches
// when any of its tags equals one of the event's tags (case-insensitive),
// any URL substring occurs in the event URL, or any title substring occurs
// in the event title (both case-insensitive).
type Rule struct {
	Topic         string   `yaml:"topic" json:"topic"`
	Tags          []string `yaml:"tags" json:"tags,omitempty"`
	URLContains   []string `yaml:"url_contains" json:"url_contains,omitempty"`
	TitleContains []string `yaml:"title_contains" json:"title_contains,omitempty"`
}

// URLParam is the link query parameter that names a topic outright.
const URLParam = "lt_topic"

// tagPrefix marks a provider tag/category that names a topic outright.
const tagPrefix = "topic:"

var topicName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Rules assigns an interest topic to events that carry none.
type Rules struct {
	rules []Rule
}

// NewRules validates rules (topic names are lower-case slugs; every rule
// needs at least one signal) and lower-cases the match strings once.
func NewRules(rules []Rule) (*Rules, error) {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		if !topicName.MatchString(r.Topic) {
			return nil, fmt.Errorf("topics[%d].topic: %q is not a lower-case slug (a-z, 0-9, . _ -)", i, r.Topic)
		}
		if len(r.Tags)+len(r.URLContains)+len(r.TitleContains) == 0 {
			return nil, fmt.Errorf("topics[%d] (%s): needs tags, url_contains or title_contains", i, r.Topic)
		}
		out[i] = Rule{Topic: r.Topic, Tags: lower(r.Tags), URLContains: lower(r.URLContains), TitleContains: lower(r.TitleContains)}
	}
	return &Rules{rules: out}, nil
}

func lower(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Assign sets ev.Topic when empty: an explicit topic tag or lt_topic link
// parameter wins, then the first matching rule. A nil *Rules applies the
// tag and the link parameter only.
func (t *Rules) Assign(ev *event.Event) {
	if ev.Topic != "" {
		ev.Topic = strings.ToLower(ev.Topic)
		return
	}
	for _, tag := range ev.Tags {
		if v, ok := strings.CutPrefix(strings.ToLower(tag), tagPrefix); ok && topicName.MatchString(v) {
			ev.Topic = v
			return
		}
	}
	if ev.URL != "" {
		if u, err := url.Parse(ev.URL); err == nil {
			if v := strings.ToLower(u.Query().Get(URLParam)); topicName.MatchString(v) {
				ev.Topic = v
				return
			}
		}
	}
	if t == nil {
		return
	}
	lurl, ltitle := strings.ToLower(ev.URL), strings.ToLower(ev.Title)
	for _, r := range t.rules {
		if matchAny(r.URLContains, func(s string) bool { return lurl != "" && strings.Contains(lurl, s) }) ||
			matchAny(r.TitleContains, func(s string) bool { return ltitle != "" && strings.Contains(ltitle, s) }) ||
			matchAny(r.Tags, func(s string) bool {
				for _, tag := range ev.Tags {
					if strings.EqualFold(tag, s) {
						return true
					}
				}
				return false
			}) {
			ev.Topic = r.Topic
			return
		}
	}
}

func matchAny(needles []string, f func(string) bool) bool {
	for _, n := range needles {
		if f(n) {
			return true
		}
	}
	return false
}

// Sink durably queues one request's events as one unit of work: the edge
// answers 2xx only after Record returned nil.
type Sink interface {
	Record(ctx context.Context, events []event.Event) error
}

// Edge is the Sink every entry point records through: it assigns topics,
// then hands the events on.
type Edge struct {
	rules *Rules
	next  Sink
}

// NewEdge returns the edge sink in front of next. rules may be nil (no
// rules configured: tags and lt_topic links still name topics).
func NewEdge(rules *Rules, next Sink) (*Edge, error) {
	if next == nil {
		return nil, errors.New("topic: edge: next sink is required")
	}
	return &Edge{rules: rules, next: next}, nil
}

// Record assigns each event its topic, in place (the caller's slice holds
// the topics afterwards), and records the events in the next sink.
func (e *Edge) Record(ctx context.Context, events []event.Event) error {
	for i := range events {
		e.rules.Assign(&events[i])
	}
	return e.next.Record(ctx, events)
}
