package scoring

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/longtailhq/longtail/event"
)

// This file encodes applyScript's arguments and decodes its output. Every
// µs spent here is one Redis does not get when the ingest job shares its
// cores, so it avoids reflection and needless allocations.

// evNumsFormat is the struct.unpack format of one event's numbers in
// ARGV[2] (see applyScript), and evNumsLen its length in bytes.
const (
	evNumsFormat = "<BdddBddI4BHHHHHHHHI4B"
	evNumsLen    = 1 + 3*8 + 1 + 2*8 + 4 + 1 + 8*2 + 4 + 1
)

// applyCall is one applyScript call: its arguments and, per event, what Go
// decided before the script runs.
type applyCall struct {
	args   []any
	events []EventResult
}

// applyArgs encodes a batch of already validated events for applyScript
// (see its comment for the layout).
func (e *Engine) applyArgs(t Target, evs []event.Event, now time.Time) (*applyCall, error) {
	r := e.rubric
	rollup, threshold := "1", r.Threshold(t.Tier)
	if t.NoRollup {
		rollup = "0"
	}
	nowMs := sinceEpoch(now)
	nowM := floorDiv(nowMs, 60000)
	msgV := strconv.FormatInt(nowM+minutes(e.cfg.MessageRetention)+1, 10)
	halfMs := e.cfg.HalfLife.Milliseconds()
	call := &applyCall{events: make([]EventResult, len(evs))}
	// The hash fields the script reads besides its fixed ones, each once;
	// events refer to them by index.
	var cf, pf fieldSet
	nums := make([]byte, 0, evNumsLen*len(evs))
	evArgs := make([]any, 0, 2*len(evs))
	var buf []byte // timeline JSON of all events, each arg a slice of it
	for i := range evs {
		ev := &evs[i]
		at := ev.OccurredAt
		if at.After(now) {
			at = now
		}
		ms := sinceEpoch(at)
		day := floorDiv(ms, 86400000)
		pts, filtered := r.Points(*ev, t)
		call.events[i] = EventResult{ID: ev.ID, Points: pts, Filtered: filtered}
		code := typeCodes[ev.Type]
		var kind, hasDelivered, gslot, hasSup uint8
		var deliveredAt float64
		var idf, dlf, mk, kf, ek, tf, ff, mf uint16
		var deliveredVal, capVal string
		switch ev.Type {
		case event.EmailDelivered:
			kind = 1
		case event.EmailClick:
			kind = 2
		}
		if ev.MessageID != "" {
			switch ev.Type {
			case event.EmailDelivered:
				dlf = cf.add(digest('d', "m", ev.MessageID))
				deliveredVal = msgV + ":" + strconv.FormatInt(ms, 10)
			case event.EmailOpen:
				mk = cf.add(digest('o', "m", ev.MessageID))
			case event.EmailClick:
				dlf, mk = cf.add(digest('d', "m", ev.MessageID)), cf.add(digest('c', "m", ev.MessageID))
			}
		}
		if ev.DeliveredAt != nil && !ev.DeliveredAt.IsZero() {
			hasDelivered, deliveredAt = 1, float64(sinceEpoch(*ev.DeliveredAt))
		}
		dayS := strconv.FormatInt(day, 10)
		cap := r.DailyCap(ev.Type)
		if cap > 0 {
			kf = cf.add("k" + code + dayS)
			capVal = strconv.FormatInt(max(nowM, (day+1)*1440)+1440, 10) + ":1"
		}
		if filtered != "" {
			gslot = uint8(4 + slices.Index(filterReasons, filtered))
		}
		money := monetary(*ev)
		var norm float64
		if pts != 0 {
			norm = pts * math.Exp2(float64(ms)/float64(halfMs))
		}
		if !t.NoRollup {
			if pts != 0 && ev.Topic != "" {
				tf = pf.add("i|" + ev.Topic)
			}
			if pts > 0 {
				ff = pf.add("f" + dayS)
			}
			if money > 0 {
				mf = pf.add("m" + dayS)
			}
		}
		idf = cf.add(digest('i', "i", ev.ID))
		// Only events that carry points or can be filtered are explained.
		if pts != 0 || filtered != "" || kind == 2 || mk > 0 || kf > 0 {
			ek = cf.add("x" + code + ev.Topic)
		}
		sup := Suppression(*ev)
		if sup != "" {
			hasSup = 1
		}
		start := len(buf)
		var err error
		buf, err = appendTimelineHead(buf, ev)
		if err != nil {
			return nil, fmt.Errorf("scoring: encode events[%d]: %w", i, err)
		}
		hl := len(buf) - start
		buf = append(buf, `,"points":`...)
		buf = strconv.AppendFloat(buf, pts, 'g', -1, 64)
		if filtered != "" {
			buf = append(buf, `,"filtered":"`...)
			buf = append(buf, filtered...)
			buf = append(buf, '"')
		}
		buf = append(buf, '}')

		nums = append(nums, kind)
		nums = appendFloat(nums, float64(ms))
		nums = appendFloat(nums, pts)
		nums = appendFloat(nums, norm)
		nums = append(nums, hasDelivered)
		nums = appendFloat(nums, deliveredAt)
		nums = appendFloat(nums, money)
		nums = binary.LittleEndian.AppendUint32(nums, uint32(min(cap, math.MaxUint32)))
		nums = append(nums, gslot)
		for _, x := range [...]uint16{idf, dlf, mk, kf, ek, tf, ff, mf} {
			nums = binary.LittleEndian.AppendUint16(nums, x)
		}
		nums = binary.LittleEndian.AppendUint32(nums, uint32(hl))
		nums = append(nums, hasSup)

		evArgs = append(evArgs, buf[start:len(buf):len(buf)])
		if kind == 1 && dlf > 0 {
			evArgs = append(evArgs, deliveredVal)
		}
		if kf > 0 {
			evArgs = append(evArgs, capVal)
		}
		if sup != "" {
			evArgs = append(evArgs, sup)
		}
	}
	args := make([]any, 0, headerArgs+len(cf.list)+len(pf.list)+len(evArgs))
	args = append(args,
		packFloats(float64(nowMs), float64(nowM), float64(halfMs), float64(e.cfg.ScannerClickWindow.Milliseconds()),
			float64(e.cfg.TimelineLength), threshold, e.cfg.RearmFraction, float64(Epoch.UnixMilli()),
			float64(len(cf.list)), float64(len(pf.list)), float64(len(evs))),
		nums,
		strconv.FormatInt(nowM+minutes(e.cfg.DedupRetention)+1, 10), msgV,
		strconv.FormatInt(nowM+pruneInterval(e.cfg), 10), rollup, fmtFloat(threshold),
		t.ContactID, fmtFloat(r.ContactFit(t)), fmtFloat(r.PartnerFit(t)),
	)
	for _, f := range cf.list {
		args = append(args, f)
	}
	for _, f := range pf.list {
		args = append(args, f)
	}
	call.args = append(args, evArgs...)
	return call, nil
}

// digest names a seen marker: kind, then the first 8 bytes of
// sha256(prefix + s).
func digest(kind byte, prefix, s string) string {
	var in [128]byte
	h := sha256.Sum256(append(append(in[:0], prefix...), s...))
	var out [9]byte
	out[0] = kind
	copy(out[1:], h[:8])
	return string(out[:])
}

// fieldSet collects the distinct hash fields a script call reads, in
// order. Batches are small, so a linear scan beats a map until they are
// not.
type fieldSet struct {
	list []string
	idx  map[string]int
}

// add records f once and returns its 1-based index (a script call reads
// at most a few thousand fields: see maxChunk).
func (s *fieldSet) add(f string) uint16 {
	if s.idx == nil && len(s.list) < 32 {
		for i, x := range s.list {
			if x == f {
				return uint16(i + 1)
			}
		}
		s.list = append(s.list, f)
		return uint16(len(s.list))
	}
	if s.idx == nil {
		s.idx = make(map[string]int, 2*len(s.list))
		for i, x := range s.list {
			s.idx[x] = i + 1
		}
	}
	if i, ok := s.idx[f]; ok {
		return uint16(i)
	}
	s.list = append(s.list, f)
	s.idx[f] = len(s.list)
	return uint16(len(s.list))
}

// appendTimelineHead appends the JSON object encoding/json makes of the
// event's timeline fields (id, type, occurred_at, then topic, title, url,
// source, message_id when set), without its closing brace.
func appendTimelineHead(b []byte, ev *event.Event) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, ev.ID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, string(ev.Type))
	b = append(b, `,"occurred_at":"`...)
	var err error
	if b, err = ev.OccurredAt.AppendText(b); err != nil {
		return b, fmt.Errorf("occurred_at: %w", err)
	}
	b = append(b, '"')
	for _, f := range [...]struct{ name, v string }{
		{`,"topic":`, ev.Topic}, {`,"title":`, ev.Title}, {`,"url":`, ev.URL},
		{`,"source":`, ev.Source}, {`,"message_id":`, ev.MessageID},
	} {
		if f.v != "" {
			b = append(b, f.name...)
			b = appendJSONString(b, f.v)
		}
	}
	return b, nil
}

// appendJSONString quotes s as encoding/json does (HTML characters,
// U+2028 and U+2029 escaped, invalid UTF-8 replaced).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// packFloats encodes numbers for struct.unpack('<d...') in the scripts.
func packFloats(fs ...float64) string {
	b := make([]byte, 0, 8*len(fs))
	for _, f := range fs {
		b = appendFloat(b, f)
	}
	return string(b)
}

func appendFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

// unpackFloat reads the i-th little-endian float64 of b.
func unpackFloat(b string, i int) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64([]byte(b[8*i : 8*i+8])))
}

// parseApply reads applyScript's output for call; it returns the
// partner's normalised score formatted for the leaderboard.
func (e *Engine) parseApply(t Target, call *applyCall, raw []any, now time.Time) (*Result, string, error) {
	n := len(call.events)
	if len(raw) != 5+n {
		return nil, "", fmt.Errorf("scoring: apply script returned %d values for %d events", len(raw), n)
	}
	scores, _ := raw[0].(string)
	if len(scores) != 16 {
		return nil, "", fmt.Errorf("scoring: apply script output: %d bytes of scores, want 16", len(scores))
	}
	num := func(i int) int64 { n, _ := raw[i].(int64); return n }
	cnorm, pnorm := unpackFloat(scores, 0), unpackFloat(scores, 1)
	d := e.decay(now)
	res := &Result{Events: call.events, ContactScore: cnorm * d, PartnerScore: pnorm * d, Version: num(1)}
	if seq := num(2); seq > 0 {
		res.Crossing = &Crossing{
			PartnerID: t.PartnerID, Seq: seq, CrossedAt: time.UnixMilli(num(3)).UTC(),
			Threshold: e.rubric.Threshold(t.Tier), New: num(4) == 1,
		}
	}
	for i := range res.Events {
		er := &res.Events[i]
		switch slot := num(5 + i); {
		case slot == 0: // scored, or filtered in Go: as applyArgs judged it
		case slot >= 4 && int(slot-4) < len(filterReasons):
			er.Points, er.Filtered = 0, filterReasons[slot-4]
		default:
			return nil, "", fmt.Errorf("scoring: apply script output for events[%d]: slot %d", i, slot)
		}
		er.Duplicate = er.Filtered == FilteredDuplicate
	}
	return res, fmtFloat(pnorm), nil
}
