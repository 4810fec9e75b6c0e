package flow

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/program"
)

// Shapes of names in flow files.
var (
	// idRE: flow and step ids. They end up in task ids and Redis keys, so
	// they are short and plain.
	idRE = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	// templateRE: template names, the <name> of <name>.<locale>.txt.
	templateRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	// topicRE: interest topics, the shape ingest gives them.
	topicRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	// repIDRE: rep ids, the shape the directory accepts.
	repIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)
	// languageRE: audience locales are languages ("fr" matches fr-CA).
	languageRE = regexp.MustCompile(`^[a-z]{2}$`)
)

// Keys a flow file may use, per mapping.
var (
	flowKeys      = []string{"id", "name", "audience", "triggers", "reentry", "window", "sender", "steps"}
	audienceKeys  = []string{"personas", "partner_types", "tiers", "segments", "score", "tags", "locales"}
	triggerKeys   = []string{"event", "topic", "segment", "stage"}
	windowKeys    = []string{"days", "hours"}
	stepKindKeys  = []string{"send", "wait", "wait_for", "branch", "tag", "score", "exit"}
	stepKeys      = append([]string{"id", "then", "else"}, stepKindKeys...)
	waitForKeys   = []string{"event", "topic", "step", "within"}
	caseKeys      = []string{"if", "goto", "else"}
	conditionKeys = []string{"score", "interest", "segments", "tags"}
	rangeKeys     = []string{"min", "max"}
	interestKeys  = []string{"topic", "min", "max"}
)

// maxScorePoints bounds a score step; a larger number is a typo.
const maxScorePoints = 1000

type parser struct {
	file     string
	opt      Options
	segments map[string]bool // SegmentKey of each known segment; nil: any
	errs     ErrorList
}

func (p *parser) fail(n *yaml.Node, field, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: n.Line, Col: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func sub(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func idx(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// describe names what a node holds, for "want X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// fields are the entries of a mapping, checked against the keys allowed.
type fields struct {
	node *yaml.Node
	vals map[string]*yaml.Node
	keys map[string]*yaml.Node
}

func (m *fields) has(k string) bool { return m.vals[k] != nil }

// mapping reads n as a mapping with the given keys. Unknown and repeated
// keys are reported (and skipped); nil when n is not a mapping.
func (p *parser) mapping(n *yaml.Node, field, want string, known []string) *fields {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.fail(n, field, "want %s, got %s", want, describe(n))
		return nil
	}
	m := &fields{node: n, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		switch {
		case !slices.Contains(known, k.Value):
			p.fail(k, sub(field, k.Value), "unknown key (known keys here: %s)", strings.Join(known, ", "))
		case m.vals[k.Value] != nil:
			p.fail(k, sub(field, k.Value), "given twice (first at line %d)", m.keys[k.Value].Line)
		default:
			m.vals[k.Value], m.keys[k.Value] = v, k
		}
	}
	return m
}

// require reports a missing key at the mapping and returns its value.
func (p *parser) require(m *fields, field, key, why string) *yaml.Node {
	if v := m.vals[key]; v != nil {
		return v
	}
	p.fail(m.node, sub(field, key), "required: %s", why)
	return nil
}

// str reads a string scalar. Numbers, booleans and nothing are refused, so
// the file means what the JSON Schema says it means.
func (p *parser) str(n *yaml.Node, field, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		p.fail(n, field, "want %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

// text reads a non-empty string of printable characters, at most max bytes.
func (p *parser) text(n *yaml.Node, field, want string, max int) (string, bool) {
	s, ok := p.str(n, field, want)
	if !ok {
		return "", false
	}
	switch t := strings.TrimSpace(s); {
	case t == "":
		p.fail(n, field, "must not be empty")
	case t != s:
		p.fail(n, field, "%q has leading or trailing spaces", s)
	case len(s) > max:
		p.fail(n, field, "longer than %d bytes", max)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		p.fail(n, field, "%q contains a control character", s)
	default:
		return s, true
	}
	return "", false
}

// list reads a non-empty list and calls item for each element.
func (p *parser) list(n *yaml.Node, field, want string, item func(i int, n *yaml.Node, field string)) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		p.fail(n, field, "want a list of %s, got %s", want, describe(n))
		return
	}
	if len(n.Content) == 0 {
		p.fail(n, field, "an empty list: give at least one item, or leave the key out")
		return
	}
	for i, it := range n.Content {
		item(i, deref(it), idx(field, i))
	}
}

// texts reads a non-empty list of texts; check, when set, vets each and
// may return its canonical spelling.
func (p *parser) texts(n *yaml.Node, field, want string, check func(n *yaml.Node, field, s string) (string, bool)) []string {
	var out []string
	seen := map[string]int{}
	p.list(n, field, want, func(i int, it *yaml.Node, f string) {
		s, ok := p.text(it, f, want, 64)
		if !ok {
			return
		}
		if check != nil {
			if s, ok = check(it, f, s); !ok {
				return
			}
		}
		if j, dup := seen[strings.ToLower(s)]; dup {
			p.fail(it, f, "%q is already listed (item %d)", s, j)
			return
		}
		seen[strings.ToLower(s)] = i
		out = append(out, s)
	})
	return out
}

func (p *parser) number(n *yaml.Node, field string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		p.fail(n, field, "want a number, got %s", describe(n))
		return 0, false
	}
	var v float64
	if err := n.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.fail(n, field, "%q is not a finite number", n.Value)
		return 0, false
	}
	return v, true
}

func (p *parser) pattern(n *yaml.Node, field, want string, re *regexp.Regexp) (string, bool) {
	s, ok := p.str(n, field, want)
	if !ok {
		return "", false
	}
	if !re.MatchString(s) {
		p.fail(n, field, "%q is not %s", s, want)
		return "", false
	}
	return s, true
}

func (p *parser) topic(n *yaml.Node, field string) (string, bool) {
	return p.pattern(n, field, "a topic (lower case letters, digits, '.', '_' and '-', e.g. deal-registration)", topicRE)
}

func (p *parser) segment(n *yaml.Node, field, s string) (string, bool) {
	if p.segments != nil && !p.segments[SegmentKey(s)] {
		known := make([]string, 0, len(p.opt.Segments))
		for _, k := range p.opt.Segments {
			known = append(known, SegmentKey(k))
		}
		p.fail(n, field, "%q is not an RFM segment (known: %s)", s, strings.Join(known, ", "))
		return "", false
	}
	return s, true
}

func (p *parser) eventType(n *yaml.Node, field string) (event.Type, bool) {
	s, ok := p.str(n, field, "an event type")
	if !ok {
		return "", false
	}
	t := event.Type(s)
	if !t.Valid() {
		names := make([]string, 0, len(event.Types()))
		for _, t := range event.Types() {
			names = append(names, string(t))
		}
		p.fail(n, field, "%q is not an event type (%s)", s, strings.Join(names, ", "))
		return "", false
	}
	return t, true
}

func (p *parser) duration(n *yaml.Node, field string) (Wait, bool) {
	s, ok := p.str(n, field, "a duration such as 5d or 36h")
	if !ok {
		return Wait{}, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.fail(n, field, "%v", err)
		return Wait{}, false
	}
	if d <= 0 {
		p.fail(n, field, "%q: must be positive", s)
		return Wait{}, false
	}
	return Wait{Kind: WaitDuration, Duration: d, Text: s}, true
}

// rangeOf reads {min, max}: at least one bound, min ≤ max.
func (p *parser) rangeOf(m *fields, field string) (Range, bool) {
	var r Range
	ok := true
	for _, k := range rangeKeys {
		if n := m.vals[k]; n != nil {
			v, good := p.number(n, sub(field, k))
			if !good {
				ok = false
				continue
			}
			if k == "min" {
				r.Min = &v
			} else {
				r.Max = &v
			}
		}
	}
	if r.Min == nil && r.Max == nil && ok {
		p.fail(m.node, field, "give min, max or both")
		return r, false
	}
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		p.fail(m.vals["min"], sub(field, "min"), "min %g is above max %g", *r.Min, *r.Max)
		return r, false
	}
	return r, ok
}

// ref is a jump to a step id, checked once every step is known.
type ref struct {
	node   *yaml.Node
	field  string
	target string
	// send: the target must be a send step (wait_for.step).
	send bool
}

func (p *parser) flow(n *yaml.Node) (*Flow, *yaml.Node) {
	m := p.mapping(n, "", "a flow (a mapping with id, name, steps...)", flowKeys)
	if m == nil {
		return nil, nil
	}
	f := &Flow{File: p.file, Sender: Sender{Kind: SenderOwnerRep}}
	idNode := p.require(m, "", "id", "every flow has an id ([a-z0-9-]+, unique across the directory)")
	if idNode != nil {
		f.ID, _ = p.pattern(idNode, "id", "a flow id ([a-z0-9-]+, at most 64)", idRE)
	}
	if v := p.require(m, "", "name", "a flow's name says what it is for"); v != nil {
		f.Name, _ = p.text(v, "name", "a name", 200)
	}
	if v := m.vals["audience"]; v != nil {
		f.Audience = p.audience(v)
	}
	if v := m.vals["triggers"]; v != nil {
		p.list(v, "triggers", "triggers", func(_ int, it *yaml.Node, field string) {
			if t, ok := p.trigger(it, field); ok {
				f.Triggers = append(f.Triggers, t)
			}
		})
	}
	if v := m.vals["reentry"]; v != nil {
		f.Reentry = p.reentry(v)
	}
	if v := m.vals["window"]; v != nil {
		f.Window = p.window(v)
	}
	if v := m.vals["sender"]; v != nil {
		f.Sender = p.sender(v)
	}
	if v := p.require(m, "", "steps", "a flow has at least one step"); v != nil {
		p.steps(f, v)
	}
	return f, idNode
}

func (p *parser) audience(n *yaml.Node) Audience {
	var a Audience
	m := p.mapping(n, "audience", "a mapping of criteria (personas, partner_types, tiers, segments, score, tags, locales)", audienceKeys)
	if m == nil {
		return a
	}
	if v := m.vals["personas"]; v != nil {
		a.Personas = p.texts(v, "audience.personas", "personas", nil)
	}
	if v := m.vals["partner_types"]; v != nil {
		types := directory.PartnerTypes()
		a.PartnerTypes = p.texts(v, "audience.partner_types", "partner types", func(n *yaml.Node, field, s string) (string, bool) {
			for _, t := range types {
				if strings.EqualFold(t, s) {
					return t, true
				}
			}
			p.fail(n, field, "%q is not a partner type (%s)", s, strings.Join(types, ", "))
			return "", false
		})
	}
	if v := m.vals["tiers"]; v != nil {
		a.Tiers = p.texts(v, "audience.tiers", "tiers", nil)
	}
	if v := m.vals["segments"]; v != nil {
		a.Segments = p.texts(v, "audience.segments", "RFM segments", p.segment)
	}
	if v := m.vals["score"]; v != nil {
		if rm := p.mapping(v, "audience.score", "{min: N, max: N}", rangeKeys); rm != nil {
			if r, ok := p.rangeOf(rm, "audience.score"); ok {
				a.Score = &r
			}
		}
	}
	if v := m.vals["tags"]; v != nil {
		a.Tags = p.texts(v, "audience.tags", "tags", nil)
	}
	if v := m.vals["locales"]; v != nil {
		a.Locales = p.texts(v, "audience.locales", "languages", func(n *yaml.Node, field, s string) (string, bool) {
			if !languageRE.MatchString(s) {
				p.fail(n, field, "%q is not a language code such as en or fr (it matches every locale of the language)", s)
				return "", false
			}
			return s, true
		})
	}
	return a
}

// countKeys is how many of keys m has.
func countKeys(m *fields, keys ...string) int {
	n := 0
	for _, k := range keys {
		if m.has(k) {
			n++
		}
	}
	return n
}

// stageNames lists the stages a {stage: NAME} trigger may name.
func stageNames() string {
	names := make([]string, 0, len(program.Stages()))
	for _, s := range program.Stages() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

func (p *parser) trigger(n *yaml.Node, field string) (Trigger, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := p.str(n, field, "a trigger")
		if !ok {
			return Trigger{}, false
		}
		switch k := TriggerKind(s); k {
		case TriggerContactCreated, TriggerHandoffRecycled:
			return Trigger{Kind: k}, true
		}
		if event.Type(s).Valid() {
			p.fail(n, field, "%q is an event type: write {event: %s} (with a topic if it needs one)", s, s)
		} else {
			p.fail(n, field, "%q is not a trigger (contact.created, handoff.recycled, {event: TYPE, topic: TOPIC}, {segment: NAME}, {stage: NAME})", s)
		}
		return Trigger{}, false
	}
	m := p.mapping(n, field, "a trigger (contact.created, handoff.recycled, {event: TYPE, topic: TOPIC}, {segment: NAME} or {stage: NAME})", triggerKeys)
	if m == nil {
		return Trigger{}, false
	}
	if kinds := countKeys(m, "event", "segment", "stage"); kinds > 1 {
		second := "segment"
		if m.has("stage") {
			second = "stage"
		}
		p.fail(m.keys[second], sub(field, second), "a trigger is one of an event, a segment or a stage, not several")
		return Trigger{}, false
	}
	switch {
	case m.has("stage"):
		if m.has("topic") {
			p.fail(m.keys["topic"], sub(field, "topic"), "only an event trigger has a topic")
			return Trigger{}, false
		}
		s, ok := p.text(m.vals["stage"], sub(field, "stage"), "a partner-program stage name", 64)
		if !ok {
			return Trigger{}, false
		}
		if !slices.Contains(program.Stages(), program.StageName(s)) {
			p.fail(m.vals["stage"], sub(field, "stage"), "%q is not a partner-program stage (known: %s)", s, stageNames())
			return Trigger{}, false
		}
		return Trigger{Kind: TriggerStage, Stage: s}, true
	case m.has("event"):
		t := Trigger{Kind: TriggerEvent}
		var ok bool
		if t.Event, ok = p.eventType(m.vals["event"], sub(field, "event")); !ok {
			return t, false
		}
		if v := m.vals["topic"]; v != nil {
			if t.Topic, ok = p.topic(v, sub(field, "topic")); !ok {
				return t, false
			}
		}
		return t, true
	case m.has("segment"):
		if m.has("topic") {
			p.fail(m.keys["topic"], sub(field, "topic"), "only an event trigger has a topic")
			return Trigger{}, false
		}
		s, ok := p.text(m.vals["segment"], sub(field, "segment"), "an RFM segment name", 64)
		if !ok {
			return Trigger{}, false
		}
		if s, ok = p.segment(m.vals["segment"], sub(field, "segment"), s); !ok {
			return Trigger{}, false
		}
		return Trigger{Kind: TriggerSegment, Segment: s}, true
	default:
		p.fail(m.node, field, "a trigger mapping needs event (and maybe topic), segment or stage")
	}
	return Trigger{}, false
}

func (p *parser) reentry(n *yaml.Node) Reentry {
	s, ok := p.str(n, "reentry", "never or a duration such as 90d")
	if !ok || s == "never" {
		return Reentry{}
	}
	d, err := ParseDuration(s)
	if err != nil || d <= 0 {
		p.fail(n, "reentry", "%q is not never or a positive duration such as 90d", s)
		return Reentry{}
	}
	return Reentry{After: d}
}

func (p *parser) window(n *yaml.Node) *Window {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		if s, ok := p.str(n, "window", "always or {days: [...], hours: \"HH:MM-HH:MM\"}"); ok {
			if s == "always" {
				return &Window{Always: true}
			}
			p.fail(n, "window", "%q is not always or {days: [...], hours: \"HH:MM-HH:MM\"}", s)
		}
		return nil
	}
	m := p.mapping(n, "window", "always or {days: [...], hours: \"HH:MM-HH:MM\"}", windowKeys)
	if m == nil {
		return nil
	}
	before := len(p.errs)
	var w Window
	if v := p.require(m, "window", "days", "the days the window is open, e.g. [mon, tue, wed, thu, fri]"); v != nil {
		p.texts(v, "window.days", "days (mon..sun)", func(n *yaml.Node, field, s string) (string, bool) {
			d, err := parseDay(s)
			if err != nil {
				p.fail(n, field, "%v", err)
				return "", false
			}
			w.Days[d] = true
			return s, true
		})
	}
	if v := p.require(m, "window", "hours", "the hours it is open on those days, e.g. \"09:00-17:30\""); v != nil {
		if s, ok := p.str(v, "window.hours", "hours such as \"09:00-17:30\""); ok {
			var err error
			if w.Start, w.End, err = ParseHours(s); err != nil {
				p.fail(v, "window.hours", "%v", err)
			}
		}
	}
	if len(p.errs) > before {
		return nil
	}
	return &w
}

func (p *parser) sender(n *yaml.Node) Sender {
	s, ok := p.str(n, "sender", "owner_rep, default or rep:<id>")
	if !ok {
		return Sender{Kind: SenderOwnerRep}
	}
	switch SenderKind(s) {
	case SenderOwnerRep, SenderDefault:
		return Sender{Kind: SenderKind(s)}
	}
	if id, ok := strings.CutPrefix(s, "rep:"); ok && repIDRE.MatchString(id) {
		return Sender{Kind: SenderRep, RepID: id}
	}
	p.fail(n, "sender", "%q is not owner_rep, default or rep:<id> (a rep id)", s)
	return Sender{Kind: SenderOwnerRep}
}

func (p *parser) steps(f *Flow, n *yaml.Node) {
	f.index = map[string]int{}
	var refs []ref
	stepAt := map[string]*yaml.Node{}
	bad := false
	p.list(n, "steps", "steps", func(i int, it *yaml.Node, field string) {
		s, idNode, rs, ok := p.step(it, field)
		refs = append(refs, rs...)
		if !ok {
			bad = true
		}
		if s.ID == "" {
			return
		}
		if first, dup := stepAt[s.ID]; dup {
			p.fail(idNode, sub(field, "id"), "step id %q is already used at line %d", s.ID, first.Line)
			bad = true
			return
		}
		stepAt[s.ID] = idNode
		f.index[s.ID] = len(f.Steps)
		f.Steps = append(f.Steps, s)
	})
	for _, r := range refs {
		i, ok := f.index[r.target]
		switch {
		case !ok:
			p.fail(r.node, r.field, "no step has the id %q", r.target)
			bad = true
		case r.send && f.Steps[i].Kind != KindSend:
			p.fail(r.node, r.field, "step %q is a %s step; wait_for.step names the send step whose email the event comes from", r.target, f.Steps[i].Kind)
			bad = true
		}
	}
	if !bad {
		p.loops(f)
	}
}

// step reads one step. Its jumps are returned to be checked once every
// step id is known.
func (p *parser) step(n *yaml.Node, field string) (Step, *yaml.Node, []ref, bool) {
	var s Step
	var refs []ref
	s.Line, s.Col = n.Line, n.Column
	m := p.mapping(n, field, "a step (a mapping with an id and one of "+strings.Join(stepKindKeys, ", ")+")", stepKeys)
	if m == nil {
		return s, nil, nil, false
	}
	before := len(p.errs)
	idNode := p.require(m, field, "id", "every step has a stable id ([a-z0-9-]+): enrollments remember it")
	if idNode != nil {
		s.ID, _ = p.pattern(idNode, sub(field, "id"), "a step id ([a-z0-9-]+, at most 64)", idRE)
	}
	var kinds []string // in the order the file gives them
	for _, k := range stepKindKeys {
		if m.has(k) {
			kinds = append(kinds, k)
		}
	}
	slices.SortFunc(kinds, func(a, b string) int {
		ka, kb := m.keys[a], m.keys[b]
		return cmp.Or(cmp.Compare(ka.Line, kb.Line), cmp.Compare(ka.Column, kb.Column))
	})
	switch len(kinds) {
	case 0:
		p.fail(m.node, field, "a step needs one of %s", strings.Join(stepKindKeys, ", "))
		return s, idNode, nil, false
	case 1:
	default:
		p.fail(m.keys[kinds[1]], sub(field, kinds[1]), "a step does one thing; this one has both %s and %s", kinds[0], kinds[1])
		return s, idNode, nil, false
	}
	s.Kind = Kind(kinds[0])
	if s.Kind != KindWaitFor {
		for _, k := range []string{"then", "else"} {
			if m.has(k) {
				p.fail(m.keys[k], sub(field, k), "%s belongs to wait_for steps (a branch says goto and else in its cases)", k)
			}
		}
	}
	v, vf := m.vals[kinds[0]], sub(field, kinds[0])
	switch s.Kind {
	case KindSend:
		if name, ok := p.pattern(v, vf, "a template name (the <name> of templates/nurture/<name>.<locale>.txt)", templateRE); ok {
			s.Template = name
			if p.opt.Template != nil {
				if err := p.opt.Template(name); err != nil {
					p.fail(v, vf, "%v", err)
				}
			}
		}
	case KindWait:
		if txt, ok := p.str(v, vf, "a wait (3d, 36h, \"2 business days\", \"until mon 09:00\")"); ok {
			w, err := ParseWait(txt)
			if err != nil {
				p.fail(v, vf, "%v", err)
			}
			s.Wait = w
		}
	case KindWaitFor:
		s.WaitFor, refs = p.waitFor(m, v, vf, field)
	case KindBranch:
		s.Cases, refs = p.branch(v, vf)
	case KindTag:
		s.Tag, _ = p.text(v, vf, "a tag", 64)
	case KindScore:
		if pts, ok := p.number(v, vf); ok {
			if pts == 0 || math.Abs(pts) > maxScorePoints {
				p.fail(v, vf, "%g points: want a number of points from -%d to %d, not 0", pts, maxScorePoints, maxScorePoints)
			}
			s.Points = pts
		}
	case KindExit:
		if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Value != "true" {
			p.fail(v, vf, "want exit: true, got %s", describe(v))
		}
	}
	return s, idNode, refs, len(p.errs) == before
}

func (p *parser) waitFor(step *fields, n *yaml.Node, field, stepField string) (WaitFor, []ref) {
	var w WaitFor
	var refs []ref
	m := p.mapping(n, field, "{event: TYPE, within: DURATION} (and maybe topic, step)", waitForKeys)
	if m != nil {
		if v := p.require(m, field, "event", "the event type waited for, e.g. email.click"); v != nil {
			w.Event, _ = p.eventType(v, sub(field, "event"))
		}
		if v := m.vals["topic"]; v != nil {
			w.Topic, _ = p.topic(v, sub(field, "topic"))
		}
		if v := m.vals["step"]; v != nil {
			if id, ok := p.pattern(v, sub(field, "step"), "a step id", idRE); ok {
				w.Step = id
				refs = append(refs, ref{node: v, field: sub(field, "step"), target: id, send: true})
			}
		}
		if v := p.require(m, field, "within", "how long to wait at most, e.g. 5d"); v != nil {
			d, _ := p.duration(v, sub(field, "within"))
			w.Within = d.Duration
		}
	}
	for _, k := range []string{"then", "else"} {
		if v := step.vals[k]; v != nil {
			if id, ok := p.pattern(v, sub(stepField, k), "a step id", idRE); ok {
				if k == "then" {
					w.Then = id
				} else {
					w.Else = id
				}
				refs = append(refs, ref{node: v, field: sub(stepField, k), target: id})
			}
		}
	}
	return w, refs
}

func (p *parser) branch(n *yaml.Node, field string) ([]Case, []ref) {
	var cases []Case
	var refs []ref
	var elseAt *yaml.Node
	p.list(n, field, "cases ({if: CONDITION, goto: STEP} or {else: STEP})", func(_ int, it *yaml.Node, cf string) {
		m := p.mapping(it, cf, "{if: CONDITION, goto: STEP} or {else: STEP}", caseKeys)
		if m == nil {
			return
		}
		if elseAt != nil {
			p.fail(m.node, cf, "a case after the else case (line %d) can never be reached", elseAt.Line)
			return
		}
		target := func(key string) (string, bool) {
			id, ok := p.pattern(m.vals[key], sub(cf, key), "a step id", idRE)
			if ok {
				refs = append(refs, ref{node: m.vals[key], field: sub(cf, key), target: id})
			}
			return id, ok
		}
		switch {
		case m.has("else"):
			for _, k := range []string{"if", "goto"} {
				if m.has(k) {
					p.fail(m.keys[k], sub(cf, k), "the else case has no %s: it is {else: STEP}", k)
					return
				}
			}
			elseAt = m.node
			if id, ok := target("else"); ok {
				cases = append(cases, Case{Goto: id})
			}
		case m.has("if") && m.has("goto"):
			cond, ok := p.condition(m.vals["if"], sub(cf, "if"))
			id, ok2 := target("goto")
			if ok && ok2 {
				cases = append(cases, Case{If: cond, Goto: id})
			}
		case m.has("if"):
			p.fail(m.node, sub(cf, "goto"), "required: the step to go to when the condition holds")
		default:
			p.fail(m.node, sub(cf, "if"), "required: a case is {if: CONDITION, goto: STEP} or {else: STEP}")
		}
	})
	return cases, refs
}

func (p *parser) condition(n *yaml.Node, field string) (*Condition, bool) {
	m := p.mapping(n, field, "a condition (score, interest, segments, tags)", conditionKeys)
	if m == nil {
		return nil, false
	}
	before := len(p.errs)
	c := &Condition{}
	if len(m.vals) == 0 {
		p.fail(m.node, field, "an empty condition: give score, interest, segments or tags")
	}
	if v := m.vals["score"]; v != nil {
		if rm := p.mapping(v, sub(field, "score"), "{min: N, max: N}", rangeKeys); rm != nil {
			if r, ok := p.rangeOf(rm, sub(field, "score")); ok {
				c.Score = &r
			}
		}
	}
	if v := m.vals["interest"]; v != nil {
		f := sub(field, "interest")
		if im := p.mapping(v, f, "{topic: TOPIC, min: N, max: N}", interestKeys); im != nil {
			in := &Interest{}
			if tv := p.require(im, f, "topic", "the interest topic, e.g. security"); tv != nil {
				in.Topic, _ = p.topic(tv, sub(f, "topic"))
			}
			if r, ok := p.rangeOf(im, f); ok {
				in.Range = r
				c.Interest = in
			}
		}
	}
	if v := m.vals["segments"]; v != nil {
		c.Segments = p.texts(v, sub(field, "segments"), "RFM segments", p.segment)
	}
	if v := m.vals["tags"]; v != nil {
		c.Tags = p.texts(v, sub(field, "tags"), "tags", nil)
	}
	return c, len(p.errs) == before
}

// loops reports every cycle of steps that has no wait or wait_for in it:
// an enrollment caught in one would spin (or mail on every pass) without
// ever pausing. A wait or wait_for step ends a pass, so cycles through one
// are fine (a wait_for that loops back to itself waits again).
func (p *parser) loops(f *Flow) {
	next := func(i int) []int {
		s := f.Steps[i]
		var out []int
		down := func() {
			if i+1 < len(f.Steps) {
				out = append(out, i+1)
			}
		}
		switch s.Kind {
		case KindWait, KindWaitFor, KindExit:
		case KindBranch:
			hasElse := false
			for _, c := range s.Cases {
				out = append(out, f.index[c.Goto])
				hasElse = hasElse || c.If == nil
			}
			if !hasElse {
				down()
			}
		default:
			down()
		}
		return out
	}
	const (
		unseen = iota
		onPath
		finished
	)
	state := make([]int, len(f.Steps))
	var path []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = onPath
		path = append(path, i)
		for _, j := range next(i) {
			switch state[j] {
			case unseen:
				visit(j)
			case onPath:
				start := slices.Index(path, j)
				ids := make([]string, 0, len(path)-start+1)
				for _, k := range path[start:] {
					ids = append(ids, f.Steps[k].ID)
				}
				ids = append(ids, f.Steps[j].ID)
				s := f.Steps[j]
				p.errs = append(p.errs, &Error{File: p.file, Line: s.Line, Col: s.Col, Field: idx("steps", j),
					Msg: fmt.Sprintf("steps %s loop without a wait or wait_for: an enrollment would go round forever", strings.Join(ids, " → "))})
			}
		}
		path = path[:len(path)-1]
		state[i] = finished
	}
	for i := range f.Steps {
		if state[i] == unseen {
			visit(i)
		}
	}
}
