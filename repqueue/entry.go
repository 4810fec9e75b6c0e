package repqueue

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/longtailhq/longtail/event"
)

// Entry states. An entry is open while queued or claimed.
const (
	StateQueued  = "queued"
	StateClaimed = "claimed"
	StateClosed  = "closed"
)

// Outcome kinds a rep records on a claimed entry.
const (
	// OutcomeConverted: a deal was registered. The entry closes; the
	// partner is not re-armed (it is a customer in motion, not a lead).
	OutcomeConverted = "converted"
	// OutcomeCallback: call again at Outcome.CallbackAt; the entry goes back
	// to the rep's queue then.
	OutcomeCallback = "callback"
	// OutcomeNotNow: closed and recycled; nurture pauses for NotNowCooldown.
	OutcomeNotNow = "not_now"
	// OutcomeNotAFit: closed; nurture stops for the partner until
	// ResumeNurture.
	OutcomeNotAFit = "not_a_fit"
	// OutcomeWrongContact: closed and recycled.
	OutcomeWrongContact = "wrong_contact"
	// OutcomeNoAnswer: back to the queue after NoAnswerRetryAfter, until
	// the retries are used up; then closed and recycled.
	OutcomeNoAnswer = "no_answer"
)

// Outcomes lists the outcome kinds.
func Outcomes() []string {
	return []string{OutcomeConverted, OutcomeCallback, OutcomeNotNow, OutcomeNotAFit, OutcomeWrongContact, OutcomeNoAnswer}
}

func validOutcome(k string) bool {
	for _, o := range Outcomes() {
		if o == k {
			return true
		}
	}
	return false
}

// ContactCard is who to call.
type ContactCard struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Phone    string `json:"phone,omitempty"`
	Title    string `json:"title,omitempty"`
	Persona  string `json:"persona,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	Locale   string `json:"locale,omitempty"`
}

// Entry is a partner's handoff: who should call whom, why, and where the
// call stands. A partner has at most one entry at a time; a new crossing
// replaces a closed one.
type Entry struct {
	PartnerID   string `json:"partner_id"`
	PartnerName string `json:"partner_name"`
	// PartnerPhone and PartnerWebsite are the partner's, as the directory
	// had them at hand-off.
	PartnerPhone   string `json:"partner_phone,omitempty"`
	PartnerWebsite string `json:"partner_website,omitempty"`
	// RepID is empty while the entry is unrouted.
	RepID     string       `json:"rep_id"`
	ContactID string       `json:"contact_id"`
	Contact   *ContactCard `json:"contact,omitempty"`
	// Score is the partner's score at handoff; it is the priority.
	Score     float64            `json:"score"`
	Interests map[string]float64 `json:"interests"`
	Segment   string             `json:"segment"`
	// Reasons are sentences a rep can open the call with, per locale
	// ("en", "fr"), the events that scored most first.
	Reasons map[string][]string `json:"reasons"`
	State   string              `json:"state"`
	// Escalated is set once SLA breaches sent the entry up to a manager
	// (or there was nobody to send it to).
	Escalated bool `json:"escalated"`
	// CrossedAt is when the partner crossed the threshold (scoring's
	// time); QueuedAt is when the handoff ran.
	CrossedAt time.Time `json:"crossed_at"`
	QueuedAt  time.Time `json:"queued_at"`
	// AvailableAt is when the entry may be worked: the handoff, a
	// reassignment, a callback time, a no_answer retry. List hides an
	// entry before it.
	AvailableAt time.Time  `json:"available_at"`
	DueAt       time.Time  `json:"due_at"`
	ClaimedAt   *time.Time `json:"claimed_at,omitempty"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	// Outcome is the last outcome recorded ("" before any).
	Outcome    string     `json:"outcome,omitempty"`
	Note       string     `json:"note,omitempty"`
	CallbackAt *time.Time `json:"callback_at,omitempty"`
	// Value of the deal of a converted entry.
	Value float64 `json:"value,omitempty"`
	// Attempts counts no_answer outcomes.
	Attempts int `json:"attempts"`
	Breaches int `json:"breaches"`
	// BreachedBy are the reps who let the SLA pass, in order.
	BreachedBy []string `json:"breached_by,omitempty"`
	// Seq is the scoring crossing this entry hands off.
	Seq     int64 `json:"seq"`
	Version int64 `json:"version"`
}

// Open reports whether the entry is queued or claimed.
func (e *Entry) Open() bool { return e.State == StateQueued || e.State == StateClaimed }

// Recycles reports whether the entry's closing outcome handed the partner
// back to nurture (not now, wrong contact, the last no answer).
func (e *Entry) Recycles() bool { return recycles(e) }

// HandoffID is the identity of the crossing the entry hands off, as
// scoring.Crossing.HandoffID spells it.
func (e *Entry) HandoffID() string {
	return "handoff:" + e.PartnerID + ":" + strconv.FormatInt(e.Seq, 10)
}

// DealEvent is the deal.won event a converted entry feeds to scoring, or
// nil for any other entry. Its value counts toward RFM monetary; its
// points are the rubric's (scoring.points.deal.won, 0 by default), not the
// 15 of a deal.registered, so a converted call does not silently push the
// partner back toward the threshold. Its id is derived from the handoff,
// so ingesting it again after a retried RecordOutcome counts once.
func (e *Entry) DealEvent() *event.Event {
	if e.State != StateClosed || e.Outcome != OutcomeConverted || e.ClosedAt == nil {
		return nil
	}
	ev := &event.Event{
		ID:         e.HandoffID() + ":converted",
		Type:       event.DealWon,
		ContactID:  e.ContactID,
		PartnerID:  e.PartnerID,
		OccurredAt: *e.ClosedAt,
		Value:      e.Value,
		Source:     "repqueue",
		Title:      "Deal won after a call from " + e.RepID,
	}
	if e.Contact != nil {
		ev.Email = e.Contact.Email
	}
	return ev
}

// Transition is one step of a partner's handoff history.
type Transition struct {
	At time.Time `json:"at"`
	// Kind is queued, unrouted, routed, claimed, outcome, reassigned or
	// escalated.
	Kind string `json:"kind"`
	Seq  int64  `json:"seq"`
	// RepID is the rep who acted (claim, outcome) or who received the
	// entry (queued, routed, reassigned, escalated).
	RepID string `json:"rep_id,omitempty"`
	// FromRepID is the rep an entry was taken from (reassigned, escalated).
	FromRepID  string     `json:"from_rep_id,omitempty"`
	State      string     `json:"state"`
	Outcome    string     `json:"outcome,omitempty"`
	Note       string     `json:"note,omitempty"`
	CallbackAt *time.Time `json:"callback_at,omitempty"`
	Value      float64    `json:"value,omitempty"`
}

// Transition kinds.
const (
	KindQueued     = "queued"
	KindUnrouted   = "unrouted"
	KindRouted     = "routed"
	KindClaimed    = "claimed"
	KindOutcome    = "outcome"
	KindReassigned = "reassigned"
	KindEscalated  = "escalated"
)

// Entry hash fields. Stored: never rename one.
const (
	fSeq       = "seq"
	fState     = "st"
	fRep       = "rep"
	fVer       = "ver"
	fName      = "pname"
	fPPhone    = "pph"
	fPWeb      = "pweb"
	fContactID = "cid"
	fCard      = "card"
	fScore     = "score"
	fInterests = "int"
	fSegment   = "seg"
	fReasons   = "rsn"
	fQueued    = "qat"
	fCrossed   = "xat"
	fAvail     = "avail"
	fDue       = "due"
	fClaimed   = "cat"
	fClosed    = "clat"
	fOutcome   = "out"
	fNote      = "note"
	fCallback  = "cb"
	fValue     = "val"
	fAttempts  = "att"
	fBreaches  = "br"
	fBreached  = "brd"
	fEscalated = "esc"
	// fFingerprint is the last outcome recorded since the last claim, so a
	// repeated RecordOutcome is recognised after the entry moved on.
	fFingerprint = "fp"
)

// fields is an ordered list of hash field/value pairs; an empty value
// deletes the field when applied by casScript.
type fields []string

func (f *fields) set(name, value string) { *f = append(*f, name, value) }

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func fromMS(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.UnixMilli(n).UTC()
}

func optMS(s string) *time.Time {
	if s == "" {
		return nil
	}
	t := fromMS(s)
	return &t
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// newEntryFields encodes a new entry for createScript (ver is set there).
func newEntryFields(e *Entry) (fields, error) {
	var f fields
	card, err := json.Marshal(e.Contact)
	if err != nil {
		return nil, err
	}
	interests, err := json.Marshal(e.Interests)
	if err != nil {
		return nil, err
	}
	reasons, err := json.Marshal(e.Reasons)
	if err != nil {
		return nil, err
	}
	f.set(fSeq, strconv.FormatInt(e.Seq, 10))
	f.set(fState, e.State)
	f.set(fName, e.PartnerName)
	f.set(fPPhone, e.PartnerPhone)
	f.set(fPWeb, e.PartnerWebsite)
	f.set(fContactID, e.ContactID)
	f.set(fCard, string(card))
	f.set(fScore, fmtFloat(e.Score))
	f.set(fInterests, string(interests))
	f.set(fSegment, e.Segment)
	f.set(fReasons, string(reasons))
	f.set(fQueued, ms(e.QueuedAt))
	if !e.CrossedAt.IsZero() {
		f.set(fCrossed, ms(e.CrossedAt))
	}
	f.set(fAvail, ms(e.AvailableAt))
	f.set(fDue, ms(e.DueAt))
	f.set(fAttempts, "0")
	f.set(fBreaches, "0")
	if e.RepID != "" {
		f.set(fRep, e.RepID)
	}
	return f, nil
}

// decodeEntry reads an entry hash; ok is false when there is none.
func decodeEntry(pid string, h map[string]string) (*Entry, bool, error) {
	if len(h) == 0 || h[fSeq] == "" {
		return nil, false, nil
	}
	seq, err := strconv.ParseInt(h[fSeq], 10, 64)
	if err != nil {
		return nil, false, fmt.Errorf("repqueue: entry of %s: bad seq %q", pid, h[fSeq])
	}
	ver, _ := strconv.ParseInt(h[fVer], 10, 64)
	score, _ := strconv.ParseFloat(h[fScore], 64)
	value, _ := strconv.ParseFloat(h[fValue], 64)
	e := &Entry{
		PartnerID: pid, PartnerName: h[fName], PartnerPhone: h[fPPhone], PartnerWebsite: h[fPWeb],
		RepID: h[fRep], ContactID: h[fContactID],
		Score: score, Segment: h[fSegment], State: h[fState], Escalated: h[fEscalated] == "1",
		QueuedAt: fromMS(h[fQueued]), AvailableAt: fromMS(h[fAvail]), DueAt: fromMS(h[fDue]),
		ClaimedAt: optMS(h[fClaimed]), ClosedAt: optMS(h[fClosed]), Outcome: h[fOutcome],
		Note: h[fNote], CallbackAt: optMS(h[fCallback]), Value: value,
		Attempts: atoi(h[fAttempts]), Breaches: atoi(h[fBreaches]), Seq: seq, Version: ver,
	}
	if s := h[fCrossed]; s != "" {
		e.CrossedAt = fromMS(s)
	}
	if s := h[fBreached]; s != "" {
		e.BreachedBy = strings.Fields(s)
	}
	for name, dst := range map[string]any{fCard: &e.Contact, fInterests: &e.Interests, fReasons: &e.Reasons} {
		if s := h[name]; s != "" {
			if err := json.Unmarshal([]byte(s), dst); err != nil {
				return nil, false, fmt.Errorf("repqueue: entry of %s: field %s: %w", pid, name, err)
			}
		}
	}
	return e, true, nil
}
