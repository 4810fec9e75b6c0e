package ingest

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/longtailhq/longtail/event"
)

// TopicRule names a topic and the signals that reveal it. A rule matches
// when any of its tags equals one of the event's tags (case-insensitive),
// any URL substring occurs in the event URL, or any title substring occurs
// in the event title (both case-insensitive).
type TopicRule struct {
	Topic         string   `yaml:"topic" json:"topic"`
	Tags          []string `yaml:"tags" json:"tags,omitempty"`
	URLContains   []string `yaml:"url_contains" json:"url_contains,omitempty"`
	TitleContains []string `yaml:"title_contains" json:"title_contains,omitempty"`
}

// TopicURLParam is the link query parameter that names a topic outright.
const TopicURLParam = "lt_topic"

// topicTagPrefix marks a provider tag/category that names a topic outright.
const topicTagPrefix = "topic:"

var topicName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Topics assigns an interest topic to events that carry none.
type Topics struct {
	rules []TopicRule
}

// NewTopics validates rules (topic names are lower-case slugs; every rule
// needs at least one signal) and lower-cases the match strings once.
func NewTopics(rules []TopicRule) (*Topics, error) {
	out := make([]TopicRule, len(rules))
	for i, r := range rules {
		if !topicName.MatchString(r.Topic) {
			return nil, fmt.Errorf("topics[%d].topic: %q is not a lower-case slug (a-z, 0-9, . _ -)", i, r.Topic)
		}
		if len(r.Tags)+len(r.URLContains)+len(r.TitleContains) == 0 {
			return nil, fmt.Errorf("topics[%d] (%s): needs tags, url_contains or title_contains", i, r.Topic)
		}
		out[i] = TopicRule{Topic: r.Topic, Tags: lower(r.Tags), URLContains: lower(r.URLContains), TitleContains: lower(r.TitleContains)}
	}
	return &Topics{rules: out}, nil
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
// parameter wins, then the first matching rule.
func (t *Topics) Assign(ev *event.Event) {
	if ev.Topic != "" {
		ev.Topic = strings.ToLower(ev.Topic)
		return
	}
	for _, tag := range ev.Tags {
		if v, ok := strings.CutPrefix(strings.ToLower(tag), topicTagPrefix); ok && topicName.MatchString(v) {
			ev.Topic = v
			return
		}
	}
	if ev.URL != "" {
		if u, err := url.Parse(ev.URL); err == nil {
			if v := strings.ToLower(u.Query().Get(TopicURLParam)); topicName.MatchString(v) {
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
