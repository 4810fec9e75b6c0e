package scoring

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// verdict is what judge decided for one batch of one contact: what each
// event came to, and everything a commit writes.
type verdict struct {
	events []EventResult
	// header is the contact's header after the batch: N, fit and
	// suppression decided, the compaction fields and token as read.
	header store.Header
	// records are appended to the contact string.
	records []byte
	// timeline is the batch's timeline element: the items of its events
	// that are not duplicates, joined by newlines (JSON has none); nil
	// when there are none.
	timeline []byte
	// partner is what the batch adds to the partner; nil without roll-up.
	partner *store.PartnerCommit
	// credits are the scored events (points ≠ 0), for the Model's
	// brute-force sums.
	credits []credit

	scratch judgeScratch
}

// judgeScratch is judge's working memory, kept between batches.
type judgeScratch struct {
	keys      []byte // every key of the batch, made into one string
	evKeys    []eventKeys
	ids       index // event ids of the batch
	counted   index // opens and clicks counted, by marker key
	delivered index // deliveries, by record key: delivery times in deliveredAt
	caps      index // daily-cap keys: the count in capUsed
	explains  names // explain keys: the deltas in explain
	fields    names // partner fields: the deltas in partner.Deltas

	deliveredAt []float64
	capUsed     []uint32 // the day's count, stored and added
	capAdded    []uint32 // what the batch added to it
	capExp      []uint32
	explain     [][store.ExplainLen]float64
	buf         []byte
}

// eventKeys are the record keys of one event.
type eventKeys struct {
	id, delivery, marker, cap string
}

// judge is the scoring rules applied to a batch of a contact's events
// against the contact as stored, its string s ("" when none) read just
// before, at now: the one place they are applied, so that the engine,
// which commits the verdict to Redis, and the Model, which keeps contacts
// in memory in the same form, agree by construction.
//
// Events must be valid (checkEvent). In order, for each event:
//   - an id seen (in the batch, or stored and not expired) is a
//     duplicate: it changes nothing and has no timeline item;
//   - the state-free filters of Rubric.Points (machine opens, scanner
//     user agents);
//   - a delivery remembers its message's delivery time; a click less than
//     ScannerClickWindow after its message's delivery (from its own
//     delivered_at, else a delivery of the batch or stored) is a scanner
//     click;
//   - a second open or click of a message is per_message;
//   - beyond its type's daily cap (per contact and UTC day of the event),
//     an event is daily_cap;
//   - a scored event adds points·2^(t/half-life) (t in ms since Epoch, at
//     most now) to the contact's and partner's N and to the topic's
//     interest, and counts toward RFM frequency; purchase and deal values
//     add to RFM monetary; the first suppressing event suppresses;
//   - points and filter counts go to the explain aggregate of (type,
//     topic).
//
// The partner crosses its threshold when a batch that adds to its N takes
// it to or above the threshold, if armed; a disarmed partner re-arms when
// its decayed score is seen below RearmFraction × threshold. The commit
// compares the partner's N, which concurrent batches of other contacts
// share, with levels judge computes (CrossAt, RearmAt): threshold ×
// 2^(now/half-life) is the threshold as a normalised N.
func (r *Rubric) judge(v *verdict, t Target, evs []event.Event, s string, now time.Time) error {
	sc := &v.scratch
	sc.reset()
	v.records, v.timeline, v.credits = v.records[:0], v.timeline[:0], v.credits[:0]
	v.events = make([]EventResult, len(evs))
	var body string
	v.header = store.Header{}
	if s != "" {
		h, err := store.ParseHeader(s)
		if err != nil {
			return err
		}
		v.header, body = h, s[store.HeaderLen:]
	}
	cfg := &r.cfg
	nowMs := sinceEpoch(now)
	nowM := floorDiv(nowMs, 60000)
	idExp := uint32(nowM + minutes(cfg.DedupRetention) + 1)
	msgExp := uint32(nowM + minutes(cfg.MessageRetention) + 1)
	deliveryExp := uint32(nowM + deliveryMinutes(*cfg) + 1)
	halfMs := float64(cfg.HalfLife.Milliseconds())
	scanner := float64(cfg.ScannerClickWindow.Milliseconds())
	rollup := !t.NoRollup
	var pc *store.PartnerCommit
	if rollup {
		pc = &store.PartnerCommit{}
	}
	sc.makeKeys(r, evs, now)
	var dn, last float64
	var sup uint8
	lastDay, dayS := int64(math.MinInt64), "" // most events of a batch share a day
	dayOf := func(ms int64) string {
		if d := floorDiv(ms, 86400000); d != lastDay {
			lastDay, dayS = d, strconv.FormatInt(d, 10)
		}
		return dayS
	}
	for i := range evs {
		ev, keys, res := &evs[i], &sc.evKeys[i], &v.events[i]
		rule := r.types[ev.Type]
		res.ID = ev.ID
		pts, filtered := r.Points(*ev, t)
		if sc.ids.find(keys.id) >= 0 || store.Newest(body, keys.id, nowM) >= 0 {
			res.Duplicate, res.Filtered = true, FilteredDuplicate
			// A duplicate of what would have scored is explained.
			if pts != 0 {
				sc.explainOf(rule.code, ev.Topic)[explainSlot(FilteredDuplicate)]++
			}
			continue
		}
		sc.ids.add(keys.id)
		v.records = store.AppendMarker(v.records, keys.id, idExp)
		at := clip(ev.OccurredAt, now)
		ms := sinceEpoch(at)
		if filtered == "" {
			if rule.delivery && keys.delivery != "" {
				j := sc.delivered.find(keys.delivery)
				if j < 0 {
					j = sc.delivered.add(keys.delivery)
					sc.deliveredAt = append(sc.deliveredAt, 0)
				}
				sc.deliveredAt[j] = float64(ms)
				v.records = store.AppendFloat(store.AppendMarker(v.records, keys.delivery, deliveryExp), float64(ms))
			}
			if rule.scannerWindow {
				d, ok := 0.0, false
				switch {
				case ev.DeliveredAt != nil && !ev.DeliveredAt.IsZero():
					d, ok = float64(sinceEpoch(*ev.DeliveredAt)), true
				case keys.delivery != "":
					if j := sc.delivered.find(keys.delivery); j >= 0 {
						d, ok = sc.deliveredAt[j], true
					} else if p := store.Newest(body, keys.delivery, nowM); p >= 0 {
						d, ok = store.Float(body[p+store.MarkerKey+4:], 0), true
					}
				}
				if ok && float64(ms) >= d && float64(ms)-d < scanner {
					filtered = FilteredScannerClick
				}
			}
			if filtered == "" && keys.marker != "" &&
				(sc.counted.find(keys.marker) >= 0 || store.Newest(body, keys.marker, nowM) >= 0) {
				filtered = FilteredPerMessage
			}
			if limit := r.DailyCap(ev.Type); filtered == "" && limit > 0 {
				j := sc.caps.find(keys.cap)
				if j < 0 {
					var used uint32
					if p := store.Newest(body, keys.cap, nowM); p >= 0 {
						used = uint32At(body, p+store.CapKey+4)
					}
					day := floorDiv(ms, 86400000)
					j = sc.caps.add(keys.cap)
					sc.capUsed, sc.capAdded = append(sc.capUsed, used), append(sc.capAdded, 0)
					sc.capExp = append(sc.capExp, uint32(max(nowM, (day+1)*1440)+1440))
				}
				if int64(sc.capUsed[j]) >= int64(limit) {
					filtered = FilteredDailyCap
				} else {
					sc.capUsed[j]++
					sc.capAdded[j]++
				}
			}
			if filtered == "" && keys.marker != "" {
				sc.counted.add(keys.marker)
				v.records = store.AppendMarker(v.records, keys.marker, msgExp)
			}
		}
		if filtered != "" {
			pts = 0
		}
		res.Points, res.Filtered = pts, filtered
		if len(v.timeline) > 0 {
			v.timeline = append(v.timeline, '\n')
		}
		var err error
		v.timeline, err = store.AppendItem(v.timeline, &store.Item{
			ID: ev.ID, Type: rule.code, OccurredAt: ev.OccurredAt, Topic: ev.Topic, Title: ev.Title,
			URL: ev.URL, Source: ev.Source, MessageID: ev.MessageID, Points: pts, Filtered: filtered,
		})
		if err != nil {
			return fmt.Errorf("events[%d]: %w", i, err)
		}
		switch {
		case filtered != "":
			sc.explainOf(rule.code, ev.Topic)[explainSlot(filtered)]++
		case pts != 0:
			norm := pts * math.Exp2(float64(ms)/halfMs)
			dn += norm
			x := sc.explainOf(rule.code, ev.Topic)
			x[0], x[1], x[2] = x[0]+1, x[1]+pts, x[2]+norm
			v.credits = append(v.credits, credit{at: time.UnixMilli(at.UnixMilli()), points: pts, topic: ev.Topic})
			if rollup && ev.Topic != "" {
				sc.addField(pc, "i|", ev.Topic, norm)
			}
			if pts > 0 {
				if float64(ms) > last {
					last = float64(ms)
				}
				if rollup {
					sc.addField(pc, "f", dayOf(ms), 1)
				}
			}
		}
		if money := monetary(*ev); money > 0 && rollup {
			sc.addField(pc, "m", dayOf(ms), money)
		}
		if c := store.SuppressionCode(Suppression(*ev)); c > 0 && sup == 0 {
			sup = c
		}
	}
	for j, key := range sc.caps.keys {
		if sc.capAdded[j] > 0 {
			v.records = store.AppendMarker(v.records, key, sc.capExp[j])
			v.records = appendUint32(v.records, sc.capUsed[j])
		}
	}
	for j := range sc.explain {
		v.records = store.AppendExplain(v.records, sc.explains.at(j), &sc.explain[j])
	}
	v.header.N += dn
	v.header.Fit = r.ContactFit(t)
	if v.header.Suppression == 0 {
		v.header.Suppression = float64(sup)
	}
	if len(v.timeline) == 0 {
		v.timeline = nil
	}
	v.partner = pc
	if pc != nil {
		threshold := r.Threshold(t.Tier)
		scale := math.Exp2(float64(nowMs) / halfMs) // a decayed score as a normalised N
		epoch := float64(Epoch.UnixMilli())
		pc.DN, pc.CrossAt, pc.RearmAt = dn, math.Inf(1), r.cfg.RearmFraction*threshold*scale
		if dn > 0 {
			pc.CrossAt = threshold * scale
		}
		pc.Now, pc.Threshold, pc.Fit = float64(nowMs)+epoch, threshold, r.PartnerFit(t)
		if last > 0 {
			pc.Last = last + epoch
		}
		pc.Fields = sc.fields.strings()
		if s == "" {
			pc.Entry = string(store.AppendEntry(nil, t.ContactID))
		}
	}
	return nil
}

// explainSlot is the index in an explain aggregate of a filter reason's
// counter.
func explainSlot(reason string) int { return 3 + slices.Index(filterReasons, reason) }

func (sc *judgeScratch) reset() {
	sc.keys, sc.evKeys, sc.buf = sc.keys[:0], sc.evKeys[:0], sc.buf[:0]
	for _, x := range []*index{&sc.ids, &sc.counted, &sc.delivered, &sc.caps} {
		x.reset()
	}
	sc.explains.reset()
	sc.fields.reset()
	sc.deliveredAt, sc.capUsed, sc.capAdded, sc.capExp = sc.deliveredAt[:0], sc.capUsed[:0], sc.capAdded[:0], sc.capExp[:0]
	sc.explain = sc.explain[:0]
}

// makeKeys computes the record keys of every event in one string: the
// digests of ids and message ids, and the daily-cap keys.
func (sc *judgeScratch) makeKeys(r *Rubric, evs []event.Event, now time.Time) {
	type span struct{ id, delivery, marker, cap [2]int }
	spans := make([]span, len(evs))
	b := sc.keys
	mark := func(f func()) [2]int { start := len(b); f(); return [2]int{start, len(b)} }
	for i := range evs {
		ev := &evs[i]
		rule := r.types[ev.Type]
		sp := &spans[i]
		sp.id = mark(func() { b = store.AppendMarkerKey(b, store.KindID, store.Digest("i", ev.ID)) })
		if ev.MessageID != "" && (rule.delivery || rule.scannerWindow || rule.perMessage != 0) {
			msg := store.Digest("m", ev.MessageID)
			if rule.delivery || rule.scannerWindow {
				sp.delivery = mark(func() { b = store.AppendMarkerKey(b, store.KindDelivery, msg) })
			}
			if rule.perMessage != 0 {
				sp.marker = mark(func() { b = store.AppendMarkerKey(b, rule.perMessage, msg) })
			}
		}
		if r.DailyCap(ev.Type) > 0 {
			day := floorDiv(sinceEpoch(clip(ev.OccurredAt, now)), 86400000)
			sp.cap = mark(func() { b = store.AppendCapKey(b, rule.code, day) })
		}
	}
	sc.keys = b
	all := string(b)
	for _, sp := range spans {
		sc.evKeys = append(sc.evKeys, eventKeys{
			id: all[sp.id[0]:sp.id[1]], delivery: all[sp.delivery[0]:sp.delivery[1]],
			marker: all[sp.marker[0]:sp.marker[1]], cap: all[sp.cap[0]:sp.cap[1]],
		})
	}
}

// explainOf is the explain deltas of (code, topic), added the first time.
func (sc *judgeScratch) explainOf(code, topic string) *[store.ExplainLen]float64 {
	sc.buf = store.AppendExplainKey(sc.buf[:0], code, topic)
	j := sc.explains.find(sc.buf)
	if j < 0 {
		j = sc.explains.add(sc.buf)
		sc.explain = append(sc.explain, [store.ExplainLen]float64{})
	}
	return &sc.explain[j]
}

// addField adds d to partner field a+b, added the first time.
func (sc *judgeScratch) addField(pc *store.PartnerCommit, a, b string, d float64) {
	sc.buf = append(append(sc.buf[:0], a...), b...)
	j := sc.fields.find(sc.buf)
	if j < 0 {
		j = sc.fields.add(sc.buf)
		pc.Deltas = append(pc.Deltas, 0)
	}
	pc.Deltas[j] += d
}

// index numbers distinct strings in the order added. Batches are small,
// so a linear scan beats a map until they are not.
type index struct {
	keys []string
	m    map[string]int
}

func (x *index) reset() {
	clear(x.keys) // let the strings go
	x.keys, x.m = x.keys[:0], nil
}

func (x *index) find(k string) int {
	if x.m != nil {
		if j, ok := x.m[k]; ok {
			return j
		}
		return -1
	}
	for j, s := range x.keys {
		if s == k {
			return j
		}
	}
	return -1
}

// add adds k, which must not be there, and returns its number.
func (x *index) add(k string) int {
	x.keys = append(x.keys, k)
	if x.m == nil && len(x.keys) > 32 {
		x.m = make(map[string]int, 2*len(x.keys))
		for j, s := range x.keys {
			x.m[s] = j
		}
	} else if x.m != nil {
		x.m[k] = len(x.keys) - 1
	}
	return len(x.keys) - 1
}

// clip is at, or now if at is later: events dated after now count as of
// now.
func clip(at, now time.Time) time.Time {
	if at.After(now) {
		return now
	}
	return at
}

// names numbers distinct names in the order added, kept in one buffer
// (no string per name: explain keys only go into records, and partner
// fields become strings once per batch).
type names struct {
	buf  []byte
	ends []int
	m    map[string]int // past 32 names
}

func (n *names) reset() { n.buf, n.ends, n.m = n.buf[:0], n.ends[:0], nil }

// at is name j.
func (n *names) at(j int) []byte {
	start := 0
	if j > 0 {
		start = n.ends[j-1]
	}
	return n.buf[start:n.ends[j]]
}

func (n *names) find(k []byte) int {
	if n.m != nil {
		if j, ok := n.m[string(k)]; ok {
			return j
		}
		return -1
	}
	for j := range n.ends {
		if string(n.at(j)) == string(k) {
			return j
		}
	}
	return -1
}

// add adds k, which must not be there, and returns its number.
func (n *names) add(k []byte) int {
	n.buf = append(n.buf, k...)
	n.ends = append(n.ends, len(n.buf))
	j := len(n.ends) - 1
	if n.m == nil && len(n.ends) > 32 {
		n.m = make(map[string]int, 2*len(n.ends))
		for i := range n.ends {
			n.m[string(n.at(i))] = i
		}
	} else if n.m != nil {
		n.m[string(k)] = j
	}
	return j
}

// strings are the names as strings, all in one allocation.
func (n *names) strings() []string {
	if len(n.ends) == 0 {
		return nil
	}
	all := string(n.buf)
	out := make([]string, len(n.ends))
	start := 0
	for j, end := range n.ends {
		out[j], start = all[start:end], end
	}
	return out
}

func appendUint32(b []byte, n uint32) []byte {
	return append(b, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
}

func uint32At(s string, i int) uint32 {
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}
