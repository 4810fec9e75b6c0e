package flow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/nurture/flow"
)

func mustParse(t *testing.T, src string) *flow.Flow {
	t.Helper()
	f, err := flow.Parse("f.yaml", []byte(src), flow.Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func TestNext(t *testing.T) {
	t.Parallel()
	f := mustParse(t, issueExample)
	g := mustParse(t, "id: g\nname: G\nsteps:\n"+
		"  - {id: w, wait_for: {event: email.open, within: 1d}}\n"+
		"  - {id: b, branch: [{if: {tags: [vip]}, goto: w}]}\n"+
		"  - {id: last, tag: done}\n")
	done := flow.Outcome{Result: flow.Done}
	tests := []struct {
		name    string
		f       *flow.Flow
		step    string
		out     flow.Outcome
		want    string
		wantErr error
	}{
		{"send goes down", f, "welcome", done, "pause", nil},
		{"wait goes down", f, "pause", done, "clicked-welcome", nil},
		{"wait_for happened → then", f, "clicked-welcome", flow.Outcome{Result: flow.Happened}, "follow-up", nil},
		{"wait_for timed out → else", f, "clicked-welcome", flow.Outcome{Result: flow.TimedOut}, "nudge", nil},
		{"wait_for done is a mistake", f, "clicked-welcome", done, "", flow.ErrOutcome},
		{"branch: interest case", f, "route", flow.Outcome{Facts: flow.Facts{Score: 25, Interests: map[string]float64{"security": 12}}}, "security-path", nil},
		{"branch: interest topic ignores case", f, "route", flow.Outcome{Facts: flow.Facts{Interests: map[string]float64{"Security": 10}}}, "security-path", nil},
		{"branch: second case", f, "route", flow.Outcome{Facts: flow.Facts{Score: 25, Interests: map[string]float64{"security": 9.9}}}, "hot", nil},
		{"branch: else", f, "route", flow.Outcome{Facts: flow.Facts{Score: 19}}, "nudge", nil},
		{"tag goes down", f, "mark", done, "bump", nil},
		{"exit ends", f, "stop", done, flow.End, nil},
		{"the last step ends", f, "hot", done, flow.End, nil},
		{"a send does not time out", f, "welcome", flow.Outcome{Result: flow.TimedOut}, "", flow.ErrOutcome},
		{"removed step", f, "gone", done, "", flow.ErrUnknownStep},
		{"wait_for without then goes down", g, "w", flow.Outcome{Result: flow.Happened}, "b", nil},
		{"wait_for without else goes down", g, "w", flow.Outcome{Result: flow.TimedOut}, "b", nil},
		{"branch with no case holding goes down", g, "b", flow.Outcome{Facts: flow.Facts{Tags: []string{"cloud"}}}, "last", nil},
		{"branch tags", g, "b", flow.Outcome{Facts: flow.Facts{Tags: []string{"cloud", "VIP"}}}, "w", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.f.Next(tc.step, tc.out)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("Next(%q) = %q, %v; want %q, %v", tc.step, got, err, tc.want, tc.wantErr)
			}
		})
	}
	if f.First() != "welcome" {
		t.Errorf("First() = %q", f.First())
	}
	def := flow.Window{Always: true}
	if f.WindowOr(def).Start != 9*60 || !g.WindowOr(def).Always {
		t.Error("WindowOr must prefer the flow's own window and fall back to the default")
	}
	if s, ok := f.Step("bump"); !ok || s.Kind != flow.KindScore || s.Points != 5 {
		t.Errorf("Step(bump) = %+v, %v", s, ok)
	}
}

func TestConditionSegments(t *testing.T) {
	t.Parallel()
	c := flow.Condition{Segments: []string{"at_risk", "lost"}, Score: &flow.Range{Max: num(10)}}
	tests := []struct {
		facts flow.Facts
		want  bool
	}{
		{flow.Facts{Segment: "at risk", Score: 3}, true},
		{flow.Facts{Segment: "Lost", Score: 10}, true},
		{flow.Facts{Segment: "lost", Score: 10.5}, false},
		{flow.Facts{Segment: "champions"}, false},
		{flow.Facts{}, false},
	}
	for _, tc := range tests {
		if got := c.Holds(tc.facts); got != tc.want {
			t.Errorf("Holds(%+v) = %v, want %v", tc.facts, got, tc.want)
		}
	}
}

func TestAudienceMatches(t *testing.T) {
	t.Parallel()
	f := mustParse(t, issueExample)
	base := flow.Profile{Persona: "owner-manager", PartnerType: "MSP", Tier: "silver", Segment: "at risk",
		Score: 12, Tags: []string{"storage", "Cloud"}, Locale: "fr-CA"}
	tests := []struct {
		name   string
		change func(p *flow.Profile)
		want   bool
	}{
		{"everything matches", func(*flow.Profile) {}, true},
		{"persona differs", func(p *flow.Profile) { p.Persona = "technical" }, false},
		{"persona case", func(p *flow.Profile) { p.Persona = "Owner-Manager" }, true},
		{"partner type case", func(p *flow.Profile) { p.PartnerType = "var" }, true},
		{"partner type differs", func(p *flow.Profile) { p.PartnerType = "ISV" }, false},
		{"tier differs", func(p *flow.Profile) { p.Tier = "gold" }, false},
		{"segment with underscore", func(p *flow.Profile) { p.Segment = "hibernating" }, true},
		{"not yet ranked", func(p *flow.Profile) { p.Segment = "" }, false},
		{"score at max", func(p *flow.Profile) { p.Score = 29 }, true},
		{"score above max", func(p *flow.Profile) { p.Score = 29.5 }, false},
		{"no tag in common", func(p *flow.Profile) { p.Tags = []string{"storage"} }, false},
		{"locale en_GB", func(p *flow.Profile) { p.Locale = "en_GB" }, true},
		{"locale de", func(p *flow.Profile) { p.Locale = "de" }, false},
		{"no locale", func(p *flow.Profile) { p.Locale = "" }, false},
	}
	for _, tc := range tests {
		p := base
		tc.change(&p)
		if got := f.Audience.Matches(p); got != tc.want {
			t.Errorf("%s: Matches(%+v) = %v, want %v", tc.name, p, got, tc.want)
		}
	}
	if !(flow.Audience{}).Matches(flow.Profile{}) || !(flow.Audience{}).Everyone() || f.Audience.Everyone() {
		t.Error("an empty audience must match anyone, and only it is Everyone")
	}
}

func TestTriggers(t *testing.T) {
	t.Parallel()
	f := mustParse(t, issueExample)
	other := mustParse(t, "id: other\nname: O\naudience: {personas: [technical]}\ntriggers: [contact.created]\nsteps: [{id: a, exit: true}]\n")
	tests := []struct {
		cause flow.Cause
		want  bool
	}{
		{flow.Cause{Kind: flow.TriggerContactCreated}, true},
		{flow.Cause{Kind: flow.TriggerHandoffRecycled}, true},
		{flow.Cause{Kind: flow.TriggerEvent, Event: event.WebinarRegistered, Topic: "Security"}, true},
		{flow.Cause{Kind: flow.TriggerEvent, Event: event.WebinarRegistered, Topic: "storage"}, false},
		{flow.Cause{Kind: flow.TriggerEvent, Event: event.WebinarAttended, Topic: "security"}, false},
		{flow.Cause{Kind: flow.TriggerSegment, Segment: "Hibernating"}, true},
		{flow.Cause{Kind: flow.TriggerSegment, Segment: "lost"}, false},
	}
	for _, tc := range tests {
		if got := f.TriggeredBy(tc.cause); got != tc.want {
			t.Errorf("TriggeredBy(%+v) = %v, want %v", tc.cause, got, tc.want)
		}
	}
	fsys := setOf(t, issueExample, "id: other\nname: O\naudience: {personas: [technical]}\ntriggers: [contact.created]\nsteps: [{id: a, exit: true}]\n")
	created := flow.Cause{Kind: flow.TriggerContactCreated}
	got := fsys.Triggered(created, flow.Profile{Persona: "technical"})
	if len(got) != 1 || got[0].ID != other.ID {
		t.Errorf("Triggered(contact.created, technical) = %v, want [other]", got)
	}
	want := []string{"{event: webinar.registered, topic: security}", "{segment: hibernating}", "handoff.recycled"}
	for i, w := range want {
		if s := f.Triggers[i+1].String(); s != w {
			t.Errorf("trigger %d = %s, want %s", i+1, s, w)
		}
	}
}

func TestWaitForMatches(t *testing.T) {
	t.Parallel()
	w := flow.WaitFor{Event: event.EmailClick, Step: "welcome", Topic: "deal-registration"}
	click := event.Event{Type: event.EmailClick, Flow: "dealreg", Step: "welcome", Topic: "Deal-Registration"}
	tests := []struct {
		name   string
		change func(e *event.Event)
		want   bool
	}{
		{"the click on that email", func(*event.Event) {}, true},
		{"an open", func(e *event.Event) { e.Type = event.EmailOpen }, false},
		{"another step's email", func(e *event.Event) { e.Step = "nudge" }, false},
		{"another flow's email", func(e *event.Event) { e.Flow = "tiers" }, false},
		{"another topic", func(e *event.Event) { e.Topic = "security" }, false},
	}
	for _, tc := range tests {
		e := click
		tc.change(&e)
		if got := w.Matches("dealreg", &e); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.name, got, tc.want)
		}
	}
	anyClick := flow.WaitFor{Event: event.EmailClick}
	if !anyClick.Matches("x", &event.Event{Type: event.EmailClick}) {
		t.Error("a wait_for without step or topic must match any click")
	}
}

func TestReentry(t *testing.T) {
	t.Parallel()
	exit := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		r        flow.Reentry
		last     time.Time
		now      time.Time
		want     bool
		scenario string
	}{
		{flow.Reentry{}, time.Time{}, exit, true, "never enrolled"},
		{flow.Reentry{}, exit, exit.AddDate(5, 0, 0), false, "never again"},
		{flow.Reentry{After: 90 * 24 * time.Hour}, exit, exit.Add(90*24*time.Hour - time.Second), false, "too soon"},
		{flow.Reentry{After: 90 * 24 * time.Hour}, exit, exit.Add(90 * 24 * time.Hour), true, "after 90 days"},
	}
	for _, tc := range tests {
		if got := tc.r.Allows(tc.last, tc.now); got != tc.want {
			t.Errorf("%s: Allows = %v, want %v", tc.scenario, got, tc.want)
		}
	}
}

func setOf(t *testing.T, srcs ...string) *flow.Set {
	t.Helper()
	fsys := map[string]string{}
	for i, s := range srcs {
		fsys[string(rune('a'+i))+".yaml"] = s
	}
	return mustLoad(t, fsys)
}
