package flow

import (
	"slices"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
)

// Audience is who a flow is for. Every criterion given must match; one left
// out (empty, nil) matches anyone. Text compares case-insensitively.
type Audience struct {
	Personas     []string
	PartnerTypes []string
	Tiers        []string
	// Segments are RFM segment names; "at_risk", "at-risk" and "at risk"
	// are the same segment.
	Segments []string
	// Score bounds the partner's score now.
	Score *Range
	// Tags: the contact or its partner has at least one of them.
	Tags []string
	// Locales: the contact's language is one of them ("fr" matches fr-CA).
	Locales []string
}

// Profile is what an audience is matched against: a contact and its
// partner, as the engine reads them when a trigger fires.
type Profile struct {
	Persona     string
	PartnerType string
	Tier        string
	Segment     string
	Score       float64
	// Tags of the contact and of the partner.
	Tags   []string
	Locale string
}

// Matches reports whether p is in the audience.
func (a Audience) Matches(p Profile) bool {
	one := func(list []string, v string) bool {
		return len(list) == 0 || slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
	}
	switch {
	case !one(a.Personas, p.Persona), !one(a.PartnerTypes, p.PartnerType), !one(a.Tiers, p.Tier):
		return false
	case len(a.Segments) > 0 && !slices.ContainsFunc(a.Segments, func(s string) bool { return sameSegment(s, p.Segment) }):
		return false
	case a.Score != nil && !a.Score.Contains(p.Score):
		return false
	case len(a.Tags) > 0 && !anyFold(a.Tags, p.Tags):
		return false
	case !one(a.Locales, Language(p.Locale)):
		return false
	}
	return true
}

// Everyone reports whether the audience has no criterion.
func (a Audience) Everyone() bool {
	return len(a.Personas)+len(a.PartnerTypes)+len(a.Tiers)+len(a.Segments)+len(a.Tags)+len(a.Locales) == 0 && a.Score == nil
}

// Language is the language part of a locale, lower-cased: "fr-CA", "fr_CA"
// and "FR" are all "fr".
func Language(locale string) string {
	lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(locale)), "-")
	lang, _, _ = strings.Cut(lang, "_")
	return lang
}

// SegmentKey is the form segment names compare in: lower case, with
// spaces, hyphens and underscores alike ("At risk" → "at_risk"), because
// scoring names a segment "at risk" and a YAML list reads better as at_risk.
func SegmentKey(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}

func sameSegment(a, b string) bool { return b != "" && SegmentKey(a) == SegmentKey(b) }

// anyFold reports whether want and have share an element, ignoring case.
func anyFold(want, have []string) bool {
	for _, w := range want {
		if slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(w, h) }) {
			return true
		}
	}
	return false
}

// TriggerKind is what kind of happening a trigger waits for.
type TriggerKind string

// Trigger kinds. contact.created and handoff.recycled are written as bare
// words in a flow file; the others as {event: ...}, {segment: ...} and
// {stage: ...}.
const (
	// TriggerContactCreated: a new contact, by API or CSV import.
	TriggerContactCreated TriggerKind = "contact.created"
	// TriggerEvent: an engagement event of the contact (type, and topic
	// when the trigger names one).
	TriggerEvent TriggerKind = "event"
	// TriggerSegment: the partner entered an RFM segment at a ranking run.
	TriggerSegment TriggerKind = "segment"
	// TriggerHandoffRecycled: a rep outcome sent the partner back to
	// nurture.
	TriggerHandoffRecycled TriggerKind = "handoff.recycled"
	// TriggerStage: the partner entered a lifecycle stage of the partner
	// program (package program's stages: dormant, churned...), found when
	// its stage was recomputed on a fact change or at the nightly run.
	TriggerStage TriggerKind = "stage"
)

// Trigger is one way a matching contact is enrolled.
type Trigger struct {
	Kind TriggerKind
	// Event and Topic of a TriggerEvent; an empty Topic matches any.
	Event event.Type
	Topic string
	// Segment of a TriggerSegment.
	Segment string
	// Stage of a TriggerStage: one of program.Stages().
	Stage string
}

// Cause is what happened, as the engine reports it: the same shape as a
// trigger, with Topic the event's topic and Segment the segment entered.
type Cause = Trigger

// Matches reports whether c is what t waits for.
func (t Trigger) Matches(c Cause) bool {
	if t.Kind != c.Kind {
		return false
	}
	switch t.Kind {
	case TriggerEvent:
		return t.Event == c.Event && (t.Topic == "" || strings.EqualFold(t.Topic, c.Topic))
	case TriggerSegment:
		return sameSegment(t.Segment, c.Segment)
	case TriggerStage:
		return t.Stage == c.Stage
	}
	return true
}

// String is the trigger as a flow file writes it.
func (t Trigger) String() string {
	switch t.Kind {
	case TriggerEvent:
		if t.Topic != "" {
			return "{event: " + string(t.Event) + ", topic: " + t.Topic + "}"
		}
		return "{event: " + string(t.Event) + "}"
	case TriggerSegment:
		return "{segment: " + t.Segment + "}"
	case TriggerStage:
		return "{stage: " + t.Stage + "}"
	}
	return string(t.Kind)
}

// TriggeredBy reports whether one of the flow's triggers matches c.
func (f *Flow) TriggeredBy(c Cause) bool {
	return slices.ContainsFunc(f.Triggers, func(t Trigger) bool { return t.Matches(c) })
}

// Reentry says whether a contact who left the flow may enter it again.
type Reentry struct {
	// After is how long after its last exit a contact may be enrolled
	// again; zero means never.
	After time.Duration
}

// Allows reports whether a contact that exited at lastExit may be enrolled
// at now. A contact never enrolled (zero lastExit) always may.
func (r Reentry) Allows(lastExit, now time.Time) bool {
	if lastExit.IsZero() {
		return true
	}
	return r.After > 0 && !now.Before(lastExit.Add(r.After))
}

// SenderKind is whose name a flow's emails go out in.
type SenderKind string

// Sender kinds.
const (
	// SenderOwnerRep: the partner's owner rep (the default).
	SenderOwnerRep SenderKind = "owner_rep"
	// SenderRep: one named rep (rep:<id>).
	SenderRep SenderKind = "rep"
	// SenderDefault: smtp.from.
	SenderDefault SenderKind = "default"
)

// Sender is who a flow's emails come from. Whatever it says, the engine
// never sends as an inactive or departed rep: it falls back to the partner's
// new owner, then smtp.from.
type Sender struct {
	Kind  SenderKind
	RepID string
}

// String is the sender as a flow file writes it.
func (s Sender) String() string {
	if s.Kind == SenderRep {
		return "rep:" + s.RepID
	}
	return string(s.Kind)
}
