package scoring

import (
	"strconv"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// Model is an in-memory scorer for replaying events without Redis:
// `longtail simulate` tunes the threshold with it. It judges every batch
// with the engine's judge and keeps what the engine keeps in Redis in the
// same form (a contact's string, a partner's state committed as the
// engine's script commits it), so the two agree by construction. It also
// keeps every credited event and reads scores by summing their decayed
// points directly: the brute-force reference the engine's normalised sums
// are tested against. A Model is not safe for concurrent use.
type Model struct {
	rubric   *Rubric
	cfg      Config
	contacts map[[2]string]*modelContact
	partners map[string]*modelPartner
	v        verdict
}

type credit struct {
	at     time.Time
	points float64
	topic  string
}

type modelContact struct {
	stored  string // the contact string (store package)
	credits []credit
}

type modelPartner struct {
	store.Partner
	credits []credit
}

// NewModel returns an empty model scoring by cfg.
func NewModel(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newModel(newRubric(cfg.withDefaults(), typeRules)), nil
}

// newModel is an empty model scoring by r.
func newModel(r *Rubric) *Model {
	return &Model{
		rubric: r, cfg: r.cfg,
		contacts: map[[2]string]*modelContact{}, partners: map[string]*modelPartner{},
	}
}

// Rubric returns the model's rubric.
func (m *Model) Rubric() *Rubric { return m.rubric }

func (m *Model) contact(pid, cid string) *modelContact {
	k := [2]string{pid, cid}
	c := m.contacts[k]
	if c == nil {
		c = &modelContact{}
		m.contacts[k] = c
	}
	return c
}

func (m *Model) partner(pid string) *modelPartner {
	p := m.partners[pid]
	if p == nil {
		p = &modelPartner{}
		m.partners[pid] = p
	}
	return p
}

// Apply scores a batch as Engine.Apply would at now. Invalid events (no
// id, unknown type, no time) are skipped and reported as duplicates.
func (m *Model) Apply(t Target, evs []event.Event, now time.Time) *Result {
	now = time.UnixMilli(now.UnixMilli()).UTC() // the engine's resolution
	res := &Result{Events: make([]EventResult, len(evs))}
	valid := make([]event.Event, 0, len(evs))
	var at []int // valid[j] is evs[at[j]]
	for i := range evs {
		if m.rubric.checkEvent(&evs[i]) != nil {
			res.Events[i] = EventResult{ID: evs[i].ID, Duplicate: true, Filtered: FilteredDuplicate}
			continue
		}
		valid, at = append(valid, evs[i]), append(at, i)
	}
	c := m.contact(t.PartnerID, t.ContactID)
	if len(valid) > 0 {
		v := &m.v
		if err := m.rubric.judge(v, t, valid, c.stored, now); err != nil {
			panic("scoring: the model's own contact does not parse: " + err.Error())
		}
		for j, i := range at {
			res.Events[i] = v.events[j]
		}
		// The token only tells writers apart; the model is the only one.
		nowM := floorDiv(sinceEpoch(now), 60000)
		c.stored = store.Next(c.stored, v.header, v.records, nowM, nowM+pruneInterval(m.cfg)).Apply(c.stored)
		c.credits = append(c.credits, v.credits...)
		if v.partner != nil {
			p := m.partner(t.PartnerID)
			p.credits = append(p.credits, v.credits...)
			crossed := p.Commit(v.partner)
			if p.Head.Pending > 0 {
				res.Crossing = &Crossing{
					PartnerID: t.PartnerID, Seq: int64(p.Head.Pending), CrossedAt: time.UnixMilli(int64(p.Head.CrossedAt)).UTC(),
					Threshold: m.rubric.Threshold(t.Tier), New: crossed,
				}
			}
		}
	}
	res.ContactScore = decayedSum(c.credits, now, m.cfg.HalfLife)
	if !t.NoRollup {
		res.PartnerScore = m.PartnerScore(t.PartnerID, now)
	}
	return res
}

// AckCrossing clears the partner's pending crossing seq.
func (m *Model) AckCrossing(partnerID string, seq int64) bool {
	p := m.partners[partnerID]
	if p == nil || p.Head.Pending != float64(seq) || seq == 0 {
		return false
	}
	p.Head.Pending = 0
	return true
}

// Rearm lets the partner cross again.
func (m *Model) Rearm(partnerID string) bool {
	p := m.partners[partnerID]
	if p == nil || !p.Disarmed {
		return false
	}
	p.Disarmed = false
	return true
}

// ContactScore is the contact's decayed score at now, summed event by event.
func (m *Model) ContactScore(partnerID, contactID string, now time.Time) float64 {
	c := m.contacts[[2]string{partnerID, contactID}]
	if c == nil {
		return 0
	}
	return decayedSum(c.credits, now, m.cfg.HalfLife)
}

// ContactInterests are the contact's decayed points per topic at now.
func (m *Model) ContactInterests(partnerID, contactID string, now time.Time) map[string]float64 {
	out := map[string]float64{}
	if c := m.contacts[[2]string{partnerID, contactID}]; c != nil {
		for _, cr := range c.credits {
			if cr.topic != "" {
				out[cr.topic] += Decayed(cr.points, cr.at, now, m.cfg.HalfLife)
			}
		}
	}
	return out
}

// Suppressed is the contact's suppression reason.
func (m *Model) Suppressed(partnerID, contactID string) string {
	if c := m.contacts[[2]string{partnerID, contactID}]; c != nil && c.stored != "" {
		return store.SuppressionOf(store.Float(c.stored, 3))
	}
	return ""
}

// PartnerScore is the partner's decayed score at now, summed event by event.
func (m *Model) PartnerScore(partnerID string, now time.Time) float64 {
	p := m.partners[partnerID]
	if p == nil {
		return 0
	}
	return decayedSum(p.credits, now, m.cfg.HalfLife)
}

func decayedSum(cs []credit, now time.Time, h time.Duration) float64 {
	var sum float64
	for _, c := range cs {
		sum += Decayed(c.points, c.at, now, h)
	}
	return sum
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// floorDiv is a/b rounded down, as Lua's math.floor(a / b).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
