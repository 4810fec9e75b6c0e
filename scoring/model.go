package scoring

import (
	"math"
	"strconv"
	"time"

	"github.com/longtailhq/longtail/event"
)

// Model is an in-memory scorer with the engine's exact rules (dedup,
// filters, caps, decay, roll-up, threshold and re-arm), for replaying
// events without Redis: `longtail simulate` tunes the threshold with it.
// It keeps every credited event and sums decayed points directly, so it
// also serves as the brute-force reference the engine is tested against.
// A Model is not safe for concurrent use.
type Model struct {
	rubric   *Rubric
	cfg      Config
	contacts map[[2]string]*modelContact
	partners map[string]*modelPartner
}

type credit struct {
	at     time.Time
	points float64
	topic  string
}

type modelContact struct {
	seen    map[string]int64 // key → expiry, unix s
	deliver map[string]int64 // message → delivered ms
	caps    map[string]int
	credits []credit
	sup     string
}

type modelPartner struct {
	contacts map[string]bool
	credits  []credit
	disarmed bool
	seq      int64
	pending  int64
	crossed  time.Time
}

// NewModel returns an empty model scoring by cfg.
func NewModel(cfg Config) (*Model, error) {
	r, err := NewRubric(cfg)
	if err != nil {
		return nil, err
	}
	return &Model{
		rubric: r, cfg: r.cfg,
		contacts: map[[2]string]*modelContact{}, partners: map[string]*modelPartner{},
	}, nil
}

// Rubric returns the model's rubric.
func (m *Model) Rubric() *Rubric { return m.rubric }

func (m *Model) contact(pid, cid string) *modelContact {
	k := [2]string{pid, cid}
	c := m.contacts[k]
	if c == nil {
		c = &modelContact{seen: map[string]int64{}, deliver: map[string]int64{}, caps: map[string]int{}}
		m.contacts[k] = c
	}
	return c
}

func (m *Model) partner(pid string) *modelPartner {
	p := m.partners[pid]
	if p == nil {
		p = &modelPartner{contacts: map[string]bool{}}
		m.partners[pid] = p
	}
	return p
}

// Apply scores a batch as Engine.Apply would at now. Invalid events (no
// id, unknown type, no time) are skipped and reported as duplicates.
func (m *Model) Apply(t Target, evs []event.Event, now time.Time) *Result {
	now = time.UnixMilli(now.UnixMilli()).UTC() // the engine's resolution
	c := m.contact(t.PartnerID, t.ContactID)
	// Seen entries expire as in the script: in whole minutes since Epoch,
	// kept at least their retention.
	nowM := floorDiv(sinceEpoch(now), 60000)
	live := func(key string) bool { exp, ok := c.seen[key]; return ok && exp > nowM }
	dedupTTL := minutes(m.cfg.DedupRetention) + 1
	msgTTL := minutes(m.cfg.MessageRetention) + 1
	deliveryTTL := deliveryMinutes(m.cfg) + 1
	res := &Result{Events: make([]EventResult, len(evs))}
	var batch []credit
	for i, ev := range evs {
		res.Events[i].ID = ev.ID
		if ev.ID == "" || !ev.Type.Valid() || ev.OccurredAt.IsZero() || live("i"+ev.ID) {
			res.Events[i].Duplicate, res.Events[i].Filtered = true, FilteredDuplicate
			continue
		}
		c.seen["i"+ev.ID] = nowM + dedupTTL
		at := ev.OccurredAt
		if at.After(now) {
			at = now
		}
		atMs := at.UnixMilli()
		pts, filt := m.rubric.Points(ev, t)
		opcl := ev.Type == event.EmailOpen || ev.Type == event.EmailClick
		marker := ""
		if opcl {
			marker = string(ev.Type[6]) + ev.MessageID
		}
		if filt == "" {
			switch {
			case ev.Type == event.EmailDelivered && ev.MessageID != "":
				c.seen["d"+ev.MessageID] = nowM + deliveryTTL
				c.deliver[ev.MessageID] = atMs
			case ev.Type == event.EmailClick:
				// Delivery time from the click's own payload, else from an
				// earlier email.delivered of the message.
				d, ok := int64(0), false
				if ev.DeliveredAt != nil && !ev.DeliveredAt.IsZero() {
					d, ok = ev.DeliveredAt.UnixMilli(), true
				} else if ev.MessageID != "" && live("d"+ev.MessageID) {
					d, ok = c.deliver[ev.MessageID], true
				}
				if ok && atMs >= d && atMs-d < m.cfg.ScannerClickWindow.Milliseconds() {
					filt = FilteredScannerClick
				}
			}
			if filt == "" && opcl && ev.MessageID != "" && live(marker) {
				filt = FilteredPerMessage
			}
		}
		if cp := m.rubric.DailyCap(ev.Type); filt == "" && cp > 0 {
			day := floorDiv(sinceEpoch(at), 86400000)
			key := "k" + string(ev.Type) + "|" + itoa(day)
			used := 0
			if live(key) {
				used = c.caps[key]
			}
			if used >= cp {
				filt = FilteredDailyCap
			} else {
				c.seen[key] = max(nowM, (day+1)*1440) + 1440
				c.caps[key] = used + 1
			}
		}
		if filt == "" {
			if opcl && ev.MessageID != "" {
				c.seen[marker] = nowM + msgTTL
			}
			if pts != 0 {
				batch = append(batch, credit{at: time.UnixMilli(atMs), points: pts, topic: ev.Topic})
			}
		} else {
			pts = 0
		}
		if s := Suppression(ev); s != "" && c.sup == "" {
			c.sup = s
		}
		res.Events[i].Points, res.Events[i].Filtered = pts, filt
	}
	c.credits = append(c.credits, batch...)
	res.ContactScore = decayedSum(c.credits, now, m.cfg.HalfLife)
	if t.NoRollup {
		return res
	}
	p := m.partner(t.PartnerID)
	p.contacts[t.ContactID] = true
	before := decayedSum(p.credits, now, m.cfg.HalfLife)
	p.credits = append(p.credits, batch...)
	after := decayedSum(p.credits, now, m.cfg.HalfLife)
	res.PartnerScore = after
	threshold := m.rubric.Threshold(t.Tier)
	if p.disarmed && math.Min(before, after) < m.cfg.RearmFraction*threshold {
		p.disarmed = false
	}
	var gain float64
	for _, cr := range batch {
		gain += cr.points * Weight(cr.at, m.cfg.HalfLife)
	}
	if !p.disarmed && gain > 0 && after >= threshold {
		p.disarmed = true
		p.seq++
		p.pending = p.seq
		p.crossed = now
		res.Crossing = &Crossing{PartnerID: t.PartnerID, Seq: p.seq, CrossedAt: now, Threshold: threshold, New: true}
	} else if p.pending > 0 {
		res.Crossing = &Crossing{PartnerID: t.PartnerID, Seq: p.pending, CrossedAt: p.crossed, Threshold: threshold}
	}
	return res
}

// AckCrossing clears the partner's pending crossing seq.
func (m *Model) AckCrossing(partnerID string, seq int64) bool {
	p := m.partners[partnerID]
	if p == nil || p.pending != seq || seq == 0 {
		return false
	}
	p.pending = 0
	return true
}

// Rearm lets the partner cross again.
func (m *Model) Rearm(partnerID string) bool {
	p := m.partners[partnerID]
	if p == nil || !p.disarmed {
		return false
	}
	p.disarmed = false
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
	if c := m.contacts[[2]string{partnerID, contactID}]; c != nil {
		return c.sup
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
