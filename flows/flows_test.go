package flows_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/longtailhq/longtail/flows"
	"github.com/longtailhq/longtail/nurture/flow"
	"github.com/longtailhq/longtail/nurture/message"
	"github.com/longtailhq/longtail/scoring"
)

func segments() []string {
	var names []string
	for _, s := range scoring.DefaultSegments() {
		names = append(names, s.Name)
	}
	return names
}

// The shipped flows load with the shipped templates and the default RFM
// segments, and cover the five subjects for both personas.
func TestShippedFlowsLoad(t *testing.T) {
	t.Parallel()
	tmpl, err := message.Embedded()
	if err != nil {
		t.Fatalf("templates: %v", err)
	}
	set, err := flow.Load(flows.FS(), flow.Options{Dir: flows.Dir, Template: tmpl.Check, Segments: segments()})
	if err != nil {
		t.Fatalf("Load:\n%v", err)
	}
	var ids []string
	used := map[string]bool{}
	for _, f := range set.Flows() {
		ids = append(ids, f.ID)
		for _, name := range f.Templates() {
			used[name] = true
		}
		if !strings.HasPrefix(f.File, flows.Dir+"/") || !strings.HasSuffix(f.File, f.ID+".yaml") {
			t.Errorf("flow %s is in %s: name each file after its flow", f.ID, f.File)
		}
	}
	for _, subject := range []string{"dealreg", "security-webinar", "tiers", "reengage", "not-now"} {
		for _, persona := range []string{"owner-manager", "technical"} {
			id := subject + "-" + persona
			f, ok := set.Get(id)
			if !ok {
				t.Errorf("no shipped flow %s (have %v)", id, ids)
				continue
			}
			if fmt.Sprint(f.Audience.Personas) != "["+persona+"]" {
				t.Errorf("%s is for %v, want %s", id, f.Audience.Personas, persona)
			}
		}
	}
	for _, name := range tmpl.Names() {
		if !used[name] {
			t.Errorf("template %s is shipped but no flow sends it", name)
		}
	}
	reengage, _ := set.Get("reengage-owner-manager")
	if !reengage.TriggeredBy(flow.Cause{Kind: flow.TriggerSegment, Segment: "hibernating"}) {
		t.Error("re-engagement is not triggered by the hibernating segment")
	}
	notNow, _ := set.Get("not-now-technical")
	if !notNow.TriggeredBy(flow.Cause{Kind: flow.TriggerHandoffRecycled}) {
		t.Error("the not-now follow-up is not triggered by a recycled hand-off")
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile("flow.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("flow.schema.json is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("flow.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	// Compiling checks the schema against the draft 2020-12 metaschema.
	sch, err := c.Compile("flow.schema.json")
	if err != nil {
		t.Fatalf("flow.schema.json: %v", err)
	}
	return sch
}

// asJSON reads a YAML document as the JSON value an editor's schema
// checker sees.
func asJSON(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestShippedFlowsMatchTheSchema(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	files, err := fs.Glob(flows.FS(), "*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped flows: %v", err)
	}
	for _, name := range files {
		src, err := fs.ReadFile(flows.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(asJSON(t, src)); err != nil {
			t.Errorf("%s does not match flow.schema.json:\n%v", name, err)
		}
	}
}

// The schema and the loader agree: what one accepts the other accepts, and
// what the schema can see is wrong both refuse. (Jumps to missing steps,
// loops and missing templates are the loader's alone.)
func TestSchemaAndLoaderAgree(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	const head = "id: f\nname: A flow\n"
	const steps = "steps:\n  - {id: a, send: hello}\n"
	tests := []struct {
		name string
		yaml string
		ok   bool
	}{
		{"smallest flow", head + steps, true},
		{"every key", head + `audience:
  personas: [owner-manager]
  partner_types: [VAR, MSP]
  tiers: [silver]
  segments: [at_risk]
  score: {min: 0, max: 29}
  tags: [cloud]
  locales: [fr, en]
triggers:
  - contact.created
  - handoff.recycled
  - {event: webinar.registered, topic: security}
  - {event: email.click}
  - {segment: hibernating}
reentry: 90d
window: {days: [mon, fri], hours: "08:00-24:00"}
sender: rep:rep-7
steps:
  - {id: a, send: hello}
  - {id: b, wait: 1d12h}
  - {id: c, wait: 2 business days}
  - {id: d, wait: "until mon 09:00"}
  - {id: e, wait: "until 17:30"}
  - id: w
    wait_for: {event: email.click, step: a, topic: security, within: 5d}
    then: t
    else: s
  - id: r
    branch:
      - {if: {interest: {topic: security, min: 10}}, goto: t}
      - {if: {score: {max: 5}, segments: [lost], tags: [vip]}, goto: s}
      - {else: x}
  - {id: t, tag: hot lead}
  - {id: s, score: -2.5}
  - {id: x, exit: true}
`, true},
		{"window always, sender default, reentry never", head + "window: always\nsender: default\nreentry: never\n" + steps, true},
		{"no steps", head, false},
		{"no name", "id: f\n" + steps, false},
		{"bad id", "id: F_1\nname: x\n" + steps, false},
		{"unknown key", head + "colour: red\n" + steps, false},
		{"unknown audience key", head + "audience: {persona: [x]}\n" + steps, false},
		{"empty audience list", head + "audience: {tiers: []}\n" + steps, false},
		{"unknown partner type", head + "audience: {partner_types: [reseller]}\n" + steps, false},
		{"empty score range", head + "audience: {score: {}}\n" + steps, false},
		{"locale with a region", head + "audience: {locales: [fr-FR]}\n" + steps, false},
		{"bare event trigger", head + "triggers: [email.click]\n" + steps, false},
		{"unknown event type", head + "triggers: [{event: email.clik}]\n" + steps, false},
		{"event and segment", head + "triggers: [{event: email.click, segment: lost}]\n" + steps, false},
		{"stage trigger", head + "triggers: [{stage: dormant}]\n" + steps, true},
		{"unknown stage", head + "triggers: [{stage: asleep}]\n" + steps, false},
		{"stage and segment", head + "triggers: [{stage: dormant, segment: lost}]\n" + steps, false},
		{"bad reentry", head + "reentry: sometimes\n" + steps, false},
		{"window without hours", head + "window: {days: [mon]}\n" + steps, false},
		{"bad day", head + "window: {days: [monday], hours: \"09:00-17:00\"}\n" + steps, false},
		{"bad hours", head + "window: {days: [mon], hours: \"9-5\"}\n" + steps, false},
		{"bad sender", head + "sender: rep\n" + steps, false},
		{"step without id", head + "steps: [{send: hello}]\n", false},
		{"step doing two things", head + "steps: [{id: a, send: hello, wait: 1d}]\n", false},
		{"step doing nothing", head + "steps: [{id: a}]\n", false},
		{"bad wait", head + "steps: [{id: a, wait: 3 weeks}]\n", false},
		{"too many business days", head + "steps: [{id: a, wait: 366 business days}]\n", false},
		{"until without a time", head + "steps: [{id: a, wait: until mon}]\n", false},
		{"wait_for without within", head + "steps: [{id: a, wait_for: {event: email.open}}]\n", false},
		{"then on a send", head + "steps: [{id: a, send: hello, then: a}]\n", false},
		{"empty branch", head + "steps: [{id: a, branch: []}]\n", false},
		{"case without goto", head + "steps: [{id: a, branch: [{if: {score: {min: 1}}}]}]\n", false},
		{"else with goto", head + "steps: [{id: a, branch: [{else: a, goto: a}]}]\n", false},
		{"empty condition", head + "steps: [{id: a, branch: [{if: {}, goto: a}]}]\n", false},
		{"interest without bounds", head + "steps: [{id: a, branch: [{if: {interest: {topic: x}}, goto: a}]}]\n", false},
		{"zero points", head + "steps: [{id: a, score: 0}]\n", false},
		{"too many points", head + "steps: [{id: a, score: 5000}]\n", false},
		{"exit false", head + "steps: [{id: a, exit: false}]\n", false},
		{"tag with spaces around", head + "steps: [{id: a, tag: \" x\"}]\n", false},
		{"template name with a dot", head + "steps: [{id: a, send: hello.en}]\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			schemaErr := sch.Validate(asJSON(t, []byte(tc.yaml)))
			_, loadErr := flow.Parse("f.yaml", []byte(tc.yaml), flow.Options{})
			if (schemaErr == nil) != tc.ok {
				t.Errorf("schema: err = %v, want ok = %v", schemaErr, tc.ok)
			}
			if (loadErr == nil) != tc.ok {
				t.Errorf("loader: err = %v, want ok = %v", loadErr, tc.ok)
			}
		})
	}
}

// The embedded set is exactly the YAML files in this directory.
func TestEmbeddedIsTheDirectory(t *testing.T) {
	t.Parallel()
	onDisk, err := fs.Glob(os.DirFS("."), "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := fs.Glob(flows.FS(), "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(onDisk, embedded) {
		t.Errorf("embedded %v, on disk %v", embedded, onDisk)
	}
	if _, err := flow.Load(fstest.MapFS{}, flow.Options{}); err != nil {
		t.Fatal(err)
	}
}
