package flow_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/nurture/flow"
)

// issueExample is the flow of the nurture issue, with the steps its jumps
// name added so that it is complete.
const issueExample = `id: dealreg-owner-manager          # [a-z0-9-]+, unique across the directory
name: Deal registration made easy
audience:                          # every key given must match; a key left out matches anyone
  personas: [owner-manager]
  partner_types: [VAR, msp]
  tiers: [registered, silver]
  segments: [hibernating, at_risk] # RFM segment names
  score: {min: 0, max: 29}         # partner score now
  tags: [cloud]
  locales: [fr, en]
triggers:                          # any one enrols a matching contact; API enrolment always works
  - contact.created                # new contact, by API or CSV import
  - {event: webinar.registered, topic: security}
  - {segment: hibernating}         # the partner entered this RFM segment at a ranking run
  - handoff.recycled               # a rep outcome sent the partner back to nurture
reentry: never                     # or a duration (90d) after the last exit
window: {days: [mon, tue, wed, thu, fri], hours: "09:00-17:30"}  # in the contact's zone; window: always for none
sender: owner_rep                  # owner_rep (default), rep:<id>, or default (smtp.from)
steps:                             # every step has a stable id; execution runs top to bottom unless a step jumps
  - {id: welcome, send: dealreg-welcome}          # a template name
  - {id: pause, wait: 3d}                          # Go durations plus d; also "2 business days", "until mon 09:00"
  - id: clicked-welcome
    wait_for: {event: email.click, step: welcome, within: 5d}
    then: follow-up                                # step id when it happens in time
    else: nudge                                    # step id on timeout
  - id: route
    branch:                                        # first match wins
      - {if: {interest: {topic: security, min: 10}}, goto: security-path}
      - {if: {score: {min: 20}}, goto: hot}
      - {else: nudge}
  - {id: mark, tag: dealreg-interested}
  - {id: bump, score: 5}                           # points, recorded as an event of type nurture.score
  - {id: stop, exit: true}
  - {id: follow-up, send: dealreg-follow-up}
  - {id: nudge, send: dealreg-nudge}
  - {id: security-path, wait: 2 business days}
  - {id: hot, wait: "until mon 09:00"}
`

func num(v float64) *float64 { return &v }

func TestParseIssueExample(t *testing.T) {
	t.Parallel()
	f, err := flow.Parse("dealreg.yaml", []byte(issueExample), flow.Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	weekdays := [7]bool{false, true, true, true, true, true, false}
	want := &flow.Flow{
		ID: "dealreg-owner-manager", Name: "Deal registration made easy", File: "dealreg.yaml",
		Audience: flow.Audience{
			Personas: []string{"owner-manager"}, PartnerTypes: []string{"VAR", "MSP"},
			Tiers: []string{"registered", "silver"}, Segments: []string{"hibernating", "at_risk"},
			Score: &flow.Range{Min: num(0), Max: num(29)}, Tags: []string{"cloud"}, Locales: []string{"fr", "en"},
		},
		Triggers: []flow.Trigger{
			{Kind: flow.TriggerContactCreated},
			{Kind: flow.TriggerEvent, Event: event.WebinarRegistered, Topic: "security"},
			{Kind: flow.TriggerSegment, Segment: "hibernating"},
			{Kind: flow.TriggerHandoffRecycled},
		},
		Window: &flow.Window{Days: weekdays, Start: 9 * 60, End: 17*60 + 30},
		Sender: flow.Sender{Kind: flow.SenderOwnerRep},
		Steps: []flow.Step{
			{ID: "welcome", Kind: flow.KindSend, Template: "dealreg-welcome", Line: 20, Col: 5},
			{ID: "pause", Kind: flow.KindWait, Wait: flow.Wait{Kind: flow.WaitDuration, Duration: 72 * time.Hour, Text: "3d"}, Line: 21, Col: 5},
			{ID: "clicked-welcome", Kind: flow.KindWaitFor, Line: 22, Col: 5, WaitFor: flow.WaitFor{
				Event: event.EmailClick, Step: "welcome", Within: 5 * 24 * time.Hour, Then: "follow-up", Else: "nudge"}},
			{ID: "route", Kind: flow.KindBranch, Line: 26, Col: 5, Cases: []flow.Case{
				{If: &flow.Condition{Interest: &flow.Interest{Topic: "security", Range: flow.Range{Min: num(10)}}}, Goto: "security-path"},
				{If: &flow.Condition{Score: &flow.Range{Min: num(20)}}, Goto: "hot"},
				{Goto: "nudge"},
			}},
			{ID: "mark", Kind: flow.KindTag, Tag: "dealreg-interested", Line: 31, Col: 5},
			{ID: "bump", Kind: flow.KindScore, Points: 5, Line: 32, Col: 5},
			{ID: "stop", Kind: flow.KindExit, Line: 33, Col: 5},
			{ID: "follow-up", Kind: flow.KindSend, Template: "dealreg-follow-up", Line: 34, Col: 5},
			{ID: "nudge", Kind: flow.KindSend, Template: "dealreg-nudge", Line: 35, Col: 5},
			{ID: "security-path", Kind: flow.KindWait, Line: 36, Col: 5,
				Wait: flow.Wait{Kind: flow.WaitBusinessDays, Days: 2, Text: "2 business days"}},
			{ID: "hot", Kind: flow.KindWait, Line: 37, Col: 5,
				Wait: flow.Wait{Kind: flow.WaitUntil, Weekday: time.Monday, Clock: 9 * 60, Text: "until mon 09:00"}},
		},
	}
	if diff := cmp.Diff(want, f, cmpopts.IgnoreUnexported(flow.Flow{})); diff != "" {
		t.Errorf("parsed flow (-want, +got):\n%s", diff)
	}
	if got := f.Templates(); fmt.Sprint(got) != "[dealreg-follow-up dealreg-nudge dealreg-welcome]" {
		t.Errorf("Templates() = %v", got)
	}
}

// wantErrors checks that err lists exactly the wanted problems, in order;
// each want is "line:col: field: " followed by a part of the message.
func wantErrors(t *testing.T, file string, err error, want ...string) {
	t.Helper()
	var list flow.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v (%T) is not an ErrorList", err, err)
	}
	if len(list) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(list), len(want), err)
	}
	for i := range min(len(list), len(want)) {
		pos, msg, _ := strings.Cut(want[i], "| ")
		got := list[i].Error()
		if !strings.HasPrefix(got, file+":"+pos) || !strings.Contains(got, msg) {
			t.Errorf("error %d = %q, want %s:%s…%s", i, got, file, pos, msg)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	const head = "id: f\nname: F\n"
	tests := []struct {
		name string
		yaml string
		want []string // "line:col: field: | message part"
	}{
		{"empty file", "", []string{"1:1: (file): | empty"}},
		{"syntax", "id: f\nname: [unclosed\n", []string{"1:1: yaml: | did not find expected"}},
		{"not a mapping", "- a\n", []string{"1:1: (file): | want a flow"}},
		{"second document", head + "steps: [{id: a, exit: true}]\n---\nid: g\n", []string{"4:1: yaml: | one flow per file"}},
		{"missing id name steps", "audience: {}\n", []string{
			"1:1: id: | required", "1:1: name: | required", "1:1: steps: | required"}},
		{"bad id", "id: Deal_Reg\nname: F\nsteps: [{id: a, exit: true}]\n", []string{"1:5: id: | not a flow id"}},
		{"numeric id", "id: 42\nname: F\nsteps: [{id: a, exit: true}]\n", []string{"1:5: id: | want a flow id"}},
		{"unknown top-level key", head + "stepz: []\nsteps: [{id: a, exit: true}]\n", []string{"3:1: stepz: | unknown key (known keys here: id, name"}},
		{"key given twice", head + "name: G\nsteps: [{id: a, exit: true}]\n", []string{"3:1: name: | given twice (first at line 2)"}},
		{"audience errors", head + "audience:\n  personas: []\n  partner_types: [VAR, reseller]\n  score: {min: 30, max: 10}\n  locales: [fr-FR]\n  colour: [red]\nsteps: [{id: a, exit: true}]\n", []string{
			"4:13: audience.personas: | empty list",
			"5:24: audience.partner_types[1]: | not a partner type",
			"6:16: audience.score.min: | min 30 is above max 10",
			"7:13: audience.locales[0]: | not a language code",
			"8:3: audience.colour: | unknown key"}},
		{"duplicate in a list", head + "audience: {tiers: [gold, Gold]}\nsteps: [{id: a, exit: true}]\n", []string{"3:26: audience.tiers[1]: | already listed"}},
		{"trigger errors", head + "triggers:\n  - email.click\n  - contact.deleted\n  - {event: email.clik}\n  - {event: email.click, segment: lost}\n  - {segment: lost, topic: x}\n  - {}\nsteps: [{id: a, exit: true}]\n", []string{
			"4:5: triggers[0]: | write {event: email.click}",
			"5:5: triggers[1]: | not a trigger",
			"6:13: triggers[2].event: | not an event type",
			"7:26: triggers[3].segment: | not several",
			"8:21: triggers[4].topic: | only an event trigger",
			"9:5: triggers[5]: | needs event"}},
		{"stage trigger errors", head + "triggers:\n  - {stage: asleep}\n  - {stage: dormant, topic: x}\n  - {stage: dormant, segment: lost}\n  - {stage: [dormant]}\nsteps: [{id: a, exit: true}]\n", []string{
			"4:13: triggers[0].stage: | \"asleep\" is not a partner-program stage (known: recruited, onboarding, productive, growing, steady, declining, dormant, churned)",
			"5:22: triggers[1].topic: | only an event trigger",
			"6:6: triggers[2].stage: | not several",
			"7:13: triggers[3].stage: | want"}},
		{"reentry window sender", head + "reentry: sometimes\nwindow: {days: [mon, funday], hours: \"18:00-09:00\"}\nsender: \"rep:\"\nsteps: [{id: a, exit: true}]\n", []string{
			"3:10: reentry: | not never or a positive duration",
			"4:22: window.days[1]: | not a day",
			"4:38: window.hours: | start must be before the end",
			"5:9: sender: | not owner_rep, default or rep:<id>"}},
		{"window scalar", head + "window: never\nsteps: [{id: a, exit: true}]\n", []string{"3:9: window: | not always"}},
		{"window without hours", head + "window: {days: [mon]}\nsteps: [{id: a, exit: true}]\n", []string{"3:9: window.hours: | required"}},
		{"step shapes", head + "steps:\n  - {send: x}\n  - {id: b}\n  - {id: c, send: x, wait: 1d}\n  - {id: d, send: x, then: a}\n  - {id: e, exit: false}\n  - welcome\n", []string{
			"4:5: steps[0].id: | required",
			"5:5: steps[1]: | a step needs one of send, wait",
			"6:22: steps[2].wait: | does one thing; this one has both send and wait",
			"7:22: steps[3].then: | belongs to wait_for steps",
			"8:19: steps[4].exit: | want exit: true",
			"9:5: steps[5]: | want a step"}},
		{"step values", head + "steps:\n  - {id: a, send: Welcome.en}\n  - {id: b, wait: 3 weeks}\n  - {id: c, wait: 0s}\n  - {id: d, score: 0}\n  - {id: e, tag: \" spaced\"}\n  - {id: f, wait: until funday 09:00}\n  - {id: g, wait: 400 business days}\n", []string{
			"4:19: steps[0].send: | not a template name",
			"5:19: steps[1].wait: | not a wait",
			"6:19: steps[2].wait: | must be positive",
			"7:20: steps[3].score: | not 0",
			"8:18: steps[4].tag: | leading or trailing spaces",
			"9:19: steps[5].wait: | not a day",
			"10:19: steps[6].wait: | from 1 to 365"}},
		{"duplicate step id", head + "steps:\n  - {id: a, wait: 1d}\n  - {id: a, exit: true}\n", []string{"5:10: steps[1].id: | already used at line 4"}},
		{"jumps to nowhere", head + "steps:\n  - id: w\n    wait_for: {event: email.click, step: x, within: 5d}\n    then: y\n    else: z\n  - id: b\n    branch: [{if: {score: {min: 1}}, goto: q}, {else: w}]\n", []string{
			"5:42: steps[0].wait_for.step: | no step has the id \"x\"",
			"6:11: steps[0].then: | no step has the id \"y\"",
			"7:11: steps[0].else: | no step has the id \"z\"",
			"9:44: steps[1].branch[0].goto: | no step has the id \"q\""}},
		{"wait_for step must be a send", head + "steps:\n  - {id: a, wait: 1d}\n  - {id: w, wait_for: {event: email.open, step: a, within: 1d}}\n", []string{
			"5:49: steps[1].wait_for.step: | is a wait step"}},
		{"wait_for fields", head + "steps:\n  - {id: w, wait_for: {topic: Security, within: forever, nope: 1}}\n", []string{
			"4:23: steps[0].wait_for.event: | required",
			"4:31: steps[0].wait_for.topic: | not a topic",
			"4:49: steps[0].wait_for.within: | not a duration",
			"4:58: steps[0].wait_for.nope: | unknown key"}},
		{"branch cases", head + "steps:\n  - id: b\n    branch:\n      - {else: c}\n      - {if: {score: {min: 1}}, goto: c}\n  - id: c\n    branch:\n      - {if: {}, goto: b}\n      - {if: {score: {}}, goto: b}\n      - {goto: b}\n      - {else: b, goto: c}\n      - {if: {interest: {min: 3}}}\n", []string{
			"7:9: steps[0].branch[1]: | can never be reached",
			"10:14: steps[1].branch[0].if: | empty condition",
			"11:22: steps[1].branch[1].if.score: | give min, max or both",
			"12:9: steps[1].branch[2].if: | required",
			"13:19: steps[1].branch[3].goto: | else case has no goto",
			"14:9: steps[1].branch[4].goto: | required"}},
		{"interest needs a topic", head + "steps:\n  - {id: b, branch: [{if: {interest: {min: 3}}, goto: b}]}\n", []string{
			"4:38: steps[0].branch[0].if.interest.topic: | required"}},
		{"loop without a wait", head + "steps:\n  - {id: a, tag: x}\n  - {id: b, score: 1}\n  - {id: c, branch: [{if: {score: {min: 5}}, goto: a}, {else: d}]}\n  - {id: d, send: hello}\n  - {id: e, branch: [{else: d}]}\n", []string{
			"4:5: steps[0]: | steps a → b → c → a loop without a wait",
			"7:5: steps[3]: | steps d → e → d loop"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := flow.Parse("f.yaml", []byte(tc.yaml), flow.Options{})
			wantErrors(t, "f.yaml", err, tc.want...)
		})
	}
}

// A loop through a wait, and a wait_for that waits again, are fine.
func TestParseLoopsThroughWaits(t *testing.T) {
	t.Parallel()
	src := "id: f\nname: F\nsteps:\n" +
		"  - {id: a, send: hello}\n" +
		"  - {id: w, wait_for: {event: email.open, step: a, within: 1d}, then: b, else: w}\n" +
		"  - {id: b, wait: 30d}\n" +
		"  - {id: c, branch: [{if: {score: {max: 10}}, goto: a}]}\n"
	if _, err := flow.Parse("f.yaml", []byte(src), flow.Options{}); err != nil {
		t.Fatalf("Parse: %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	t.Parallel()
	src := "id: f\nname: F\naudience: {segments: [at risk, dormant]}\ntriggers: [{segment: At_Risk}]\n" +
		"steps:\n  - {id: a, send: hello}\n  - {id: b, send: missing}\n" +
		"  - {id: c, branch: [{if: {segments: [lost]}, goto: a}]}\n"
	opt := flow.Options{
		Segments: []string{"champions", "at risk", "lost"},
		Template: func(name string) error {
			if name == "missing" {
				return errors.New(`no template "missing" (templates/nurture/missing.en.txt)`)
			}
			return nil
		},
	}
	_, err := flow.Parse("f.yaml", []byte(src), opt)
	wantErrors(t, "f.yaml", err,
		"3:32: audience.segments[1]: | \"dormant\" is not an RFM segment (known: champions, at_risk, lost)",
		"7:19: steps[1].send: | no template \"missing\"")
}

func TestLoadReportsEveryErrorOfEveryFile(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"a.yaml":           {Data: []byte("id: a\nname: A\nsteps: [{id: s, send: hello}]\n")},
		"sub/b.yml":        {Data: []byte("id: a\nname: B\nwindow: sometimes\nsteps:\n  - {id: s, wait: 3 weeks}\n  - {id: t, exit: true, tag: x}\n")},
		"c.yaml":           {Data: []byte("id: c\nname: C\nsteps: [{id: s, exit: true}]\n")},
		"README.md":        {Data: []byte("not a flow")},
		".hidden/x.yaml":   {Data: []byte("garbage: [")},
		"flow.schema.json": {Data: []byte("{}")},
	}
	_, err := flow.Load(fsys, flow.Options{Dir: "flows"})
	wantErrors(t, "flows/sub/b.yml", err,
		`1:5: id: | flow id "a" is already used by flows/a.yaml:1`,
		`3:9: window: | not always`,
		`5:19: steps[0].wait: | not a wait`,
		`6:25: steps[1].tag: | both exit and tag`)

	delete(fsys, "sub/b.yml")
	set, err := flow.Load(fsys, flow.Options{Dir: "flows"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var ids []string
	for _, f := range set.Flows() {
		ids = append(ids, f.ID+"@"+f.File)
	}
	if fmt.Sprint(ids) != "[a@flows/a.yaml c@flows/c.yaml]" {
		t.Errorf("flows = %v", ids)
	}
	if f, ok := set.Get("c"); !ok || f.Name != "C" {
		t.Errorf("Get(c) = %v, %v", f, ok)
	}
	if _, ok := set.Get("b"); ok {
		t.Error("Get(b) found a flow that does not exist")
	}
}

func TestLoadEmptyDirectory(t *testing.T) {
	t.Parallel()
	set, err := flow.Load(fstest.MapFS{}, flow.Options{})
	if err != nil || set.Len() != 0 {
		t.Fatalf("Load(empty) = %v, %v; want an empty set", set, err)
	}
}

// A {stage: NAME} trigger parses to TriggerStage, matches that stage
// entered and no other, and writes itself back as the file does.
func TestParseStageTrigger(t *testing.T) {
	t.Parallel()
	src := "id: f\nname: F\ntriggers: [{stage: dormant}]\nsteps: [{id: a, exit: true}]\n"
	f, err := flow.Parse("f.yaml", []byte(src), flow.Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []flow.Trigger{{Kind: flow.TriggerStage, Stage: "dormant"}}
	if diff := cmp.Diff(want, f.Triggers); diff != "" {
		t.Fatalf("triggers (-want, +got):\n%s", diff)
	}
	for _, c := range []struct {
		cause flow.Cause
		want  bool
	}{
		{flow.Cause{Kind: flow.TriggerStage, Stage: "dormant"}, true},
		{flow.Cause{Kind: flow.TriggerStage, Stage: "churned"}, false},
		{flow.Cause{Kind: flow.TriggerSegment, Segment: "dormant"}, false},
	} {
		if got := f.TriggeredBy(c.cause); got != c.want {
			t.Errorf("TriggeredBy(%+v) = %v, want %v", c.cause, got, c.want)
		}
	}
	if got := f.Triggers[0].String(); got != "{stage: dormant}" {
		t.Errorf("String() = %q", got)
	}
}
