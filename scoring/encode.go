package scoring

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
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

// suppressions are the suppression reasons by the codes applyScript
// stores. Stored: append only.
var suppressions = []string{"", SuppressedHardBounce, SuppressedSpam, SuppressedUnsubscribe}

// evNumsFormat is the struct.unpack format of one event's numbers in
// ARGV[2] (see applyScript), and evNumsLen its length in bytes.
const (
	evNumsFormat = "<BdddBddI4BHHHHHHHHI4B"
	evNumsLen    = 1 + 3*8 + 1 + 2*8 + 4 + 1 + 8*2 + 4 + 1
)

// applyCall is one applyScript call: the whole EVALSHA command and, per
// event, what Go decided before the script runs.
type applyCall struct {
	cmd    []any
	events []EventResult
}

// applyKeyCount is the number of KEYS of applyScript.
const applyKeyCount = 4

// applySHA is applyScript's SHA1, boxed once for every EVALSHA.
var applySHA any = applyScript.Hash()

// encoder is applyArgs' scratch: the buffers a call's arguments are built
// in before they are copied into the call's one string. Engine.encoders
// keeps them for reuse, so a call allocates its string and little else
// (allocation and the garbage collector it drives cost the ingest job
// about as much CPU as encoding does).
type encoder struct {
	nums, recs, json, out []byte
	pf                    fieldSet // partner fields, each once; events refer to them by index
	xkeys                 []xkey
	fr                    fresh
}

func (enc *encoder) reset() {
	enc.nums, enc.recs, enc.json, enc.out = enc.nums[:0], enc.recs[:0], enc.json[:0], enc.out[:0]
	enc.xkeys = enc.xkeys[:0]
	enc.pf.reset()
	enc.fr.reset()
}

// applyArgs encodes a batch of already validated events for applyScript
// (see its comment for the layout), given the contact as stored before the
// call (readContacts; "" when there is none). A batch Go could judge, and
// whose judgement holds against what is stored, goes with that judgement,
// for the fast path, and unless all is set, with nothing else: the events'
// numbers and records, which only the slow path reads, are left out (every
// byte the script receives costs Redis a hash step). If the contact was
// written since it was read, the script then writes nothing and says so
// (applied.again), and the batch must go again with all set, for the
// script to judge event by event. A contact with more than one batch in a
// round trip needs all set on each: the first changes the contact the next
// was judged against.
func (e *Engine) applyArgs(t Target, evs []event.Event, now time.Time, all bool, stored string) (*applyCall, error) {
	enc, _ := e.encoders.Get().(*encoder)
	if enc == nil {
		enc = &encoder{}
	}
	enc.reset()
	defer e.encoders.Put(enc)
	r := e.rubric
	rollup, threshold := 1.0, r.Threshold(t.Tier)
	if t.NoRollup {
		rollup = 0
	}
	nowMs := sinceEpoch(now)
	nowM := floorDiv(nowMs, 60000)
	msgExp := uint32(nowM + minutes(e.cfg.MessageRetention) + 1)
	idExp := uint32(nowM + minutes(e.cfg.DedupRetention) + 1)
	deliveryExp := uint32(nowM + deliveryMinutes(e.cfg) + 1)
	halfMs := e.cfg.HalfLife.Milliseconds()
	call := &applyCall{events: make([]EventResult, len(evs))}
	pf, fr := &enc.pf, &enc.fr
	nums, recs, buf := enc.nums, enc.recs, enc.json
	scanner := float64(e.cfg.ScannerClickWindow.Milliseconds())
	var lastDay int64
	var dayS string
	var capExp uint32
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
		var kind, hasDelivered, gslot uint8
		var deliveredAt float64
		var ir, dr, mr, kr, ek, tf, ff, mf uint16
		switch ev.Type {
		case event.EmailDelivered:
			kind = 1
		case event.EmailClick:
			kind = 2
		}
		if ev.MessageID != "" {
			msg := digestSum("m", ev.MessageID)
			switch ev.Type {
			case event.EmailDelivered:
				dr, recs = appendRecord(recs, 'd', msg[:8], deliveryExp)
				recs = appendFloat(recs, float64(ms))
			case event.EmailOpen:
				mr, recs = appendRecord(recs, 'o', msg[:8], msgExp)
			case event.EmailClick:
				// Looked up only: the payload is never read.
				dr, recs = appendRecord(recs, 'd', msg[:8], msgExp)
				recs = appendFloat(recs, 0)
				mr, recs = appendRecord(recs, 'c', msg[:8], msgExp)
			}
		}
		if ev.DeliveredAt != nil && !ev.DeliveredAt.IsZero() {
			hasDelivered, deliveredAt = 1, float64(sinceEpoch(*ev.DeliveredAt))
		}
		if day != lastDay || dayS == "" {
			// Most events of a batch share a day.
			lastDay, dayS = day, strconv.FormatInt(day, 10)
			capExp = uint32(max(nowM, (day+1)*1440) + 1440)
		}
		cap := r.DailyCap(ev.Type)
		if cap > 0 {
			var key [6]byte
			copy(key[:2], code)
			binary.LittleEndian.PutUint32(key[2:], uint32(day))
			kr, recs = appendRecord(recs, 'k', key[:], capExp)
			recs = binary.LittleEndian.AppendUint32(recs, 1)
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
				tf = pf.addCat("i|", ev.Topic)
			}
			if pts > 0 {
				ff = pf.addCat("f", dayS)
			}
			if money > 0 {
				mf = pf.addCat("m", dayS)
			}
		}
		id := digestSum("i", ev.ID)
		ir, recs = appendRecord(recs, 'i', id[:8], idExp)
		// Only events that carry points or can be filtered are explained.
		if pts != 0 || filtered != "" || kind == 2 || mr > 0 || kr > 0 {
			if len(ev.Topic) > event.MaxTextLen {
				return nil, fmt.Errorf("scoring: encode events[%d]: topic longer than %d bytes", i, event.MaxTextLen)
			}
			ek, enc.xkeys, recs = explainKey(enc.xkeys, recs, code, ev.Topic)
		}
		supCode := uint8(slices.Index(suppressions, Suppression(*ev)))
		if i > 0 {
			buf = append(buf, '\n') // the timeline stores a batch's items as one element
		}
		start := len(buf)
		var err error
		buf, err = appendTimelineHead(buf, ev)
		if err != nil {
			return nil, fmt.Errorf("scoring: encode events[%d]: %w", i, err)
		}
		hl := len(buf) - start
		buf = append(buf, `,"p":`...)
		buf = strconv.AppendFloat(buf, pts, 'g', -1, 64)
		if filtered != "" {
			buf = append(buf, `,"f":"`...)
			buf = append(buf, filtered...)
			buf = append(buf, '"')
		}
		buf = append(buf, '}')

		en := evNums{
			kind: kind, hasDelivered: hasDelivered, gslot: gslot, sup: supCode,
			at: float64(ms), pts: pts, norm: norm, deliveredAt: deliveredAt, money: money,
			cap: uint32(min(cap, math.MaxUint32)),
			ir:  ir, dr: dr, mr: mr, kr: kr, ek: ek, tf: tf, ff: ff, mf: mf, headLen: uint32(hl),
		}
		nums = en.appendTo(nums)
		fr.event(recs, &en, scanner)
	}
	enc.nums, enc.recs, enc.json = nums, recs, buf

	// Every argument is a slice of one string, passed by pointer (go-redis
	// writes a *string as it does a string) so none is boxed on its own.
	var ends [applyKeyCount + headerArgs]int
	out, keyEnds := appendApplyKeys(enc.out, t.PartnerID, t.ContactID)
	copy(ends[:], keyEnds[:])
	for _, f := range [...]float64{float64(nowMs), float64(nowM), float64(halfMs), scanner,
		float64(e.cfg.TimelineLength), threshold, e.cfg.RearmFraction, float64(Epoch.UnixMilli()),
		float64(len(pf.list)), float64(len(evs)),
		float64(nowM + pruneInterval(e.cfg)), r.ContactFit(t), r.PartnerFit(t), rollup, compactMinLen} {
		out = appendFloat(out, f)
	}
	// ARGV[1]: the header, the contact's entry in the partner's list, the
	// version of the contact Go judged against (0: none stored), and Go's
	// judgement, one string.
	fr.finish(recs)
	judged := !e.slowOnly && fr.holds(stored, float64(nowM), scanner)
	all = all || !judged
	out = appendContactEntry(out, t.ContactID)
	version := -1.0 // matches no stored contact
	switch {
	case stored == "":
		version = 0
	case len(stored) >= contactHeaderLen:
		version = binNum(stored, contactVersion)
	}
	out = appendFloat(out, version)
	if judged {
		out = fr.appendPack(out, len(pf.list))
	}
	ends[applyKeyCount] = len(out)
	if all {
		out = append(out, nums...)
	}
	ends[applyKeyCount+1] = len(out)
	if all {
		out = append(out, recs...)
	}
	ends[applyKeyCount+2] = len(out)
	if judged {
		out = append(out, fr.appended...)
	}
	ends[applyKeyCount+3] = len(out)
	out = append(out, buf...)
	enc.out = out
	whole := string(out)

	// The timeline items go as one string, joined by newlines: the fast
	// path pushes it as it is, the slow path cuts it where it must.
	n := len(ends) + len(pf.list) + 1
	strs := make([]string, n)
	prev := 0
	for i, end := range ends {
		strs[i], prev = whole[prev:end], end
	}
	for i, f := range pf.list {
		strs[len(ends)+i] = f
	}
	strs[n-1] = whole[prev:]
	args := make([]any, 3+n)
	args[0], args[1], args[2] = "evalsha", applySHA, applyKeyCount
	for i := range strs {
		args[3+i] = &strs[i]
	}
	call.cmd = args
	return call, nil
}

// xkey is an explain key a batch put in its records (ARGV[3]).
type xkey struct {
	code, topic string
	off         uint16
}

// explainKey returns the 1-based offset in recs of the explain key of
// (code, topic) ("x", topic length as uint16, code, topic), appending it
// the first time.
func explainKey(keys []xkey, recs []byte, code, topic string) (uint16, []xkey, []byte) {
	for _, k := range keys {
		if k.code == code && k.topic == topic {
			return k.off, keys, recs
		}
	}
	off := uint16(len(recs) + 1)
	recs = append(recs, 'x')
	recs = binary.LittleEndian.AppendUint16(recs, uint16(len(topic)))
	recs = append(append(recs, code...), topic...)
	return off, append(keys, xkey{code, topic, off}), recs
}

// recLen bounds a seen-marker record (see applyScript): d records are the
// longest.
const recLen = 21

// appendRecord appends the key (kind, then key) and expiry of a seen-marker
// record, returning the record's 1-based offset (the script's sub()
// position) and the grown records; the caller appends the payload.
func appendRecord(recs []byte, kind byte, key []byte, exp uint32) (uint16, []byte) {
	off := uint16(len(recs) + 1)
	recs = append(recs, kind)
	recs = append(recs, key...)
	return off, binary.LittleEndian.AppendUint32(recs, exp)
}

// digestSum is sha256(prefix + s), which names seen markers.
func digestSum(prefix, s string) [sha256.Size]byte {
	var in [128]byte
	return sha256.Sum256(append(append(in[:0], prefix...), s...))
}

// fieldSet collects the distinct hash fields a script call reads, in
// order. Batches are small, so a linear scan beats a map until they are
// not.
type fieldSet struct {
	list []string
	idx  map[string]int
}

func (s *fieldSet) reset() {
	clear(s.list) // let the names go
	s.list, s.idx = s.list[:0], nil
}

// addCat is add(a + b), without building a + b when it is already there.
func (s *fieldSet) addCat(a, b string) uint16 {
	if s.idx == nil {
		for i, x := range s.list {
			if len(x) == len(a)+len(b) && x[:len(a)] == a && x[len(a):] == b {
				return uint16(i + 1)
			}
		}
	}
	return s.add(a + b)
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

// storedItem is a timeline entry as stored: a TimelineItem with one-letter
// keys and the type code, since every byte stored costs Redis and Lua
// several copies.
type storedItem struct {
	ID         string    `json:"i"`
	Type       string    `json:"t"`
	OccurredAt time.Time `json:"o"`
	Topic      string    `json:"n,omitempty"`
	Title      string    `json:"l,omitempty"`
	URL        string    `json:"u,omitempty"`
	Source     string    `json:"s,omitempty"`
	MessageID  string    `json:"m,omitempty"`
	Points     float64   `json:"p"`
	Filtered   string    `json:"f,omitempty"`
}

// parseTimelineItem decodes a stored timeline entry.
func parseTimelineItem(b []byte) (TimelineItem, error) {
	var s storedItem
	if err := json.Unmarshal(b, &s); err != nil {
		return TimelineItem{}, err
	}
	typ, ok := typeOfCode(s.Type)
	if !ok {
		return TimelineItem{}, fmt.Errorf("unknown type code %q", s.Type)
	}
	return TimelineItem{
		ID: s.ID, Type: typ, OccurredAt: s.OccurredAt, Topic: s.Topic, Points: s.Points,
		Filtered: s.Filtered, Title: s.Title, URL: s.URL, Source: s.Source, MessageID: s.MessageID,
	}, nil
}

// appendTimelineHead appends the JSON object encoding/json makes of the
// event's storedItem up to its points, without a closing brace.
func appendTimelineHead(b []byte, ev *event.Event) ([]byte, error) {
	b = append(b, `{"i":`...)
	b = appendJSONString(b, ev.ID)
	b = append(b, `,"t":`...)
	b = appendJSONString(b, typeCodes[ev.Type])
	b = append(b, `,"o":"`...)
	var err error
	if b, err = ev.OccurredAt.AppendText(b); err != nil {
		return b, fmt.Errorf("occurred_at: %w", err)
	}
	b = append(b, '"')
	for _, f := range [...]struct{ name, v string }{
		{`,"n":`, ev.Topic}, {`,"l":`, ev.Title}, {`,"u":`, ev.URL},
		{`,"s":`, ev.Source}, {`,"m":`, ev.MessageID},
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

// applyOutFloats is the number of float64 applyScript's output starts
// with.
const applyOutFloats = 7

// Bits of the output's flags (its seventh float64).
const (
	outSlots   = 1 // one byte per event follows: the slow path judged them
	outCompact = 2 // then the contact string as read: compaction is due
	outAgain   = 4 // nothing was written: send the batch again, slow
)

// applied is what parseApply reads from applyScript's output.
type applied struct {
	res *Result
	// pnorm is the partner's normalised score formatted for the
	// leaderboard.
	pnorm string
	// stored is the contact string the script read when its compaction is
	// due, else "".
	stored string
	// again is set when the script found Go's judgement did not hold and
	// wrote nothing: the batch must go again with everything (applyArgs
	// with all set).
	again bool
}

// parseApply reads applyScript's output for call.
func (e *Engine) parseApply(t Target, call *applyCall, raw string, now time.Time) (applied, error) {
	n := len(call.events)
	if len(raw) < 8*applyOutFloats {
		return applied{}, fmt.Errorf("scoring: apply script returned %d bytes", len(raw))
	}
	num := func(i int) int64 { return int64(unpackFloat(raw, i)) }
	flags, rest := num(6), raw[8*applyOutFloats:]
	if flags == outAgain && rest == "" {
		return applied{again: true}, nil
	}
	var slots string
	if flags&outSlots != 0 {
		if len(rest) < n {
			return applied{}, fmt.Errorf("scoring: apply script returned %d slots for %d events", len(rest), n)
		}
		slots, rest = rest[:n], rest[n:]
	}
	var stored string
	if flags&outCompact != 0 {
		stored, rest = rest, ""
	}
	if rest != "" || flags&^(outSlots|outCompact) != 0 {
		return applied{}, fmt.Errorf("scoring: apply script output: flags %d with %d bytes more", flags, len(rest))
	}
	cnorm, pnorm := unpackFloat(raw, 0), unpackFloat(raw, 1)
	d := e.decay(now)
	res := &Result{Events: call.events, ContactScore: cnorm * d, PartnerScore: pnorm * d, Version: num(2), slow: flags&outSlots != 0}
	if seq := num(3); seq > 0 {
		res.Crossing = &Crossing{
			PartnerID: t.PartnerID, Seq: seq, CrossedAt: time.UnixMilli(num(4)).UTC(),
			Threshold: e.rubric.Threshold(t.Tier), New: num(5) == 1,
		}
	}
	// Without slots (the fast path) the events stand as applyArgs judged
	// them.
	for i := range slots {
		er := &res.Events[i]
		switch slot := slots[i]; {
		case slot == 0: // scored, or filtered in Go: as applyArgs judged it
		case slot >= 4 && int(slot-4) < len(filterReasons):
			er.Points, er.Filtered = 0, filterReasons[slot-4]
		default:
			return applied{}, fmt.Errorf("scoring: apply script output for events[%d]: slot %d", i, slot)
		}
		er.Duplicate = er.Filtered == FilteredDuplicate
	}
	return applied{res: res, pnorm: fmtFloat(pnorm), stored: stored}, nil
}
