package scoring

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
)

// evNums are one event's numbers as applyScript reads them from ARGV[2]
// (evNumsFormat; see the script's comment for each).
type evNums struct {
	kind, hasDelivered, gslot, sup uint8
	at, pts, norm, deliveredAt     float64
	money                          float64
	cap                            uint32
	ir, dr, mr, kr, ek, tf, ff, mf uint16
	headLen                        uint32
}

func (n *evNums) appendTo(b []byte) []byte {
	b = append(b, n.kind)
	b = appendFloat(b, n.at)
	b = appendFloat(b, n.pts)
	b = appendFloat(b, n.norm)
	b = append(b, n.hasDelivered)
	b = appendFloat(b, n.deliveredAt)
	b = appendFloat(b, n.money)
	b = binary.LittleEndian.AppendUint32(b, n.cap)
	b = append(b, n.gslot)
	for _, x := range [...]uint16{n.ir, n.dr, n.mr, n.kr, n.ek, n.tf, n.ff, n.mf} {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	b = binary.LittleEndian.AppendUint32(b, n.headLen)
	return append(b, n.sup)
}

// fresh judges a batch as applyScript's slow path would if nothing were
// stored for the contact, then checks what is stored (holds, against the
// contact string as read before the call) for anything that changes that
// judgement, and packs it for the script's fast path (in ARGV[1]): the
// script then only checks that the contact is the one Go read (its
// version), where it used to read and search the whole string. Per-event
// Lua, and every byte Lua takes in, are most of what scoring costs Redis;
// this moves them here.
//
// The judgement holds only when Go's filters (gslot) are the whole story:
// a batch where the script would filter an event itself (a duplicate id, a
// second open or click of a message, a daily cap reached, a click in the
// scanner window of a delivery in the batch) has no fast path, and the
// script judges it event by event. So the fast path's timeline items and
// results are exactly what applyArgs encoded.
//
// Sums are taken in event order from 0, as the slow path takes them, so
// both paths store the same bits.
type fresh struct {
	ok       bool
	ds, last float64
	sup      uint8
	explain  []xdelta  // in first use order
	partner  []float64 // per partner field
	absent   []byte    // keys (9 bytes each) no live record may have
	checks   []byte    // 28 bytes each: kind (2 delivery, 3 daily cap), the record's first 11 bytes, x, y
	appended []byte    // the records the batch adds, as the script appends them

	ids       []uint16 // offsets in recs of the batch's id records
	delivered []delivery
	counted   []uint16 // offsets of the open/click records counted
	caps      []capUse
}

// xdelta is what a batch adds to the explain aggregate whose key is at off
// in the records: count, points, N, then the counts of filterReasons.
type xdelta struct {
	off uint16
	v   [explainLen]float64
}

type delivery struct {
	off uint16
	at  float64
}

type capUse struct {
	off       uint16
	used, cap uint32
}

// reset readies f for a new batch, keeping its buffers.
func (f *fresh) reset() {
	*f = fresh{
		ok: true, explain: f.explain[:0], partner: f.partner[:0], absent: f.absent[:0], checks: f.checks[:0], appended: f.appended[:0],
		ids: f.ids[:0], delivered: f.delivered[:0], counted: f.counted[:0], caps: f.caps[:0],
	}
}

// key is the key of the record at 1-based offset off: its kind byte and
// digest, kind, type code and day for a daily cap, or the whole explain
// key.
func key(recs []byte, off uint16) []byte {
	l := 9
	switch recs[off-1] {
	case 'k':
		l = 7
	case 'x':
		l = 5 + int(binary.LittleEndian.Uint16(recs[off:]))
	}
	return recs[off-1 : int(off)-1+l]
}

// appendExplain appends an explain record (see applyScript): its key, then
// 3 float64 when no filter counter is set, else 8.
func appendExplain(b, key []byte, v [explainLen]float64) []byte {
	b = append(b, key...)
	m := 3
	for _, c := range v[3:] {
		if c != 0 {
			m = 8
		}
	}
	b = append(b, byte(m))
	for _, x := range v[:m] {
		b = appendFloat(b, x)
	}
	return b
}

// check adds a check of the stored record with rec's key (rec: a record's
// first 11 bytes).
func (f *fresh) check(kind uint8, rec []byte, x, y float64) {
	f.checks = append(f.checks, kind)
	f.checks = append(f.checks, rec[:11]...)
	f.checks = appendFloat(f.checks, x)
	f.checks = appendFloat(f.checks, y)
}

// checkLen is the length of a check in fresh.checks.
const checkLen = 1 + 11 + 8 + 8

// record appends the record of l bytes at off to what the batch adds.
func (f *fresh) record(recs []byte, off uint16, l int) {
	f.appended = append(f.appended, recs[off-1:int(off)-1+l]...)
}

// event judges the next event of the batch; recs holds the records it
// refers to, scanner is the scanner window in ms.
func (f *fresh) event(recs []byte, e *evNums, scanner float64) {
	if !f.ok {
		return
	}
	ik := key(recs, e.ir)
	for _, off := range f.ids {
		if bytes.Equal(key(recs, off), ik) {
			f.ok = false
			return
		}
	}
	f.ids = append(f.ids, e.ir)
	f.absent = append(f.absent, ik...)
	f.record(recs, e.ir, 13)
	if e.gslot == 0 {
		switch e.kind {
		case 1:
			if e.dr > 0 {
				f.delivered = append(f.delivered, delivery{e.dr, e.at})
				f.record(recs, e.dr, 21)
			}
		case 2:
			d, have := e.deliveredAt, e.hasDelivered == 1
			if !have && e.dr > 0 {
				dk := key(recs, e.dr)
				for i := len(f.delivered) - 1; i >= 0; i-- {
					if bytes.Equal(key(recs, f.delivered[i].off), dk) {
						d, have = f.delivered[i].at, true
						break
					}
				}
				if !have {
					f.check(2, recs[e.dr-1:], e.at, 0)
				}
			}
			if have && e.at >= d && e.at-d < scanner {
				f.ok = false
				return
			}
		}
		if e.mr > 0 {
			mk := key(recs, e.mr)
			for _, off := range f.counted {
				if bytes.Equal(key(recs, off), mk) {
					f.ok = false
					return
				}
			}
			f.absent = append(f.absent, mk...)
		}
		if e.kr > 0 {
			kk := key(recs, e.kr)
			i := 0
			for i < len(f.caps) && !bytes.Equal(key(recs, f.caps[i].off), kk) {
				i++
			}
			if i == len(f.caps) {
				f.caps = append(f.caps, capUse{off: e.kr, cap: e.cap})
			}
			if f.caps[i].used >= e.cap {
				f.ok = false
				return
			}
			f.caps[i].used++
		}
		if e.mr > 0 {
			f.counted = append(f.counted, e.mr)
			f.record(recs, e.mr, 13)
		}
	}
	if e.gslot == 0 && e.pts != 0 {
		f.ds += e.norm
		if e.tf > 0 {
			*f.partnerField(e.tf) += e.norm
		}
		if e.pts > 0 {
			*f.partnerField(e.ff)++
			if e.at > f.last {
				f.last = e.at
			}
		}
	}
	if e.money > 0 {
		*f.partnerField(e.mf) += e.money
	}
	if e.sup > 0 && f.sup == 0 {
		f.sup = e.sup
	}
	if e.ek > 0 && (e.pts != 0 || e.gslot != 0) {
		i := 0
		for i < len(f.explain) && f.explain[i].off != e.ek {
			i++
		}
		if i == len(f.explain) {
			f.explain = append(f.explain, xdelta{off: e.ek})
		}
		x := &f.explain[i].v
		if e.gslot == 0 {
			x[0], x[1], x[2] = x[0]+1, x[1]+e.pts, x[2]+e.norm
		} else {
			x[e.gslot-1]++
		}
	}
}

// partnerField is the delta of partner field i (0, without roll-up: a
// scratch value nothing reads).
func (f *fresh) partnerField(i uint16) *float64 {
	if i == 0 {
		return new(float64)
	}
	for int(i) > len(f.partner) {
		f.partner = append(f.partner, 0)
	}
	return &f.partner[i-1]
}

// finish completes the judgement once every event is in: the daily-cap
// checks, and the records to append (appended: the batch's counts, then
// the explain deltas).
func (f *fresh) finish(recs []byte) {
	if !f.ok {
		return
	}
	for _, c := range f.caps {
		// Checked against what is stored, then recorded with the batch's
		// count (holds appends the stored count plus it when there is one).
		f.check(3, recs[c.off-1:], float64(c.used), float64(c.cap))
		f.appended = append(f.appended, recs[c.off-1:int(c.off)-1+11]...)
		f.appended = binary.LittleEndian.AppendUint32(f.appended, c.used)
	}
	for _, x := range f.explain {
		f.appended = appendExplain(f.appended, key(recs, x.off), x.v)
	}
}

// holds reports whether the judgement holds for the contact stored as s
// (its string as read; see applyScript) at nowM (minutes since Epoch),
// with a scanner window of scanner ms: no event id seen, no open or click
// already counted for its message, no delivery putting a click in the
// scanner window, and room under each daily cap for what the batch adds.
// A stored daily count the batch adds to is appended, summed, to the
// records to append.
func (f *fresh) holds(s string, nowM, scanner float64) bool {
	switch {
	case !f.ok:
		return false
	case s == "":
		return true // nothing stored
	case len(s) < contactHeaderLen:
		return false
	}
	body := s[contactHeaderLen:]
	// newest is the offset in body of the newest unexpired record with
	// key, or -1. As in the script, a key found elsewhere than at a
	// record's start is as likely as two digests colliding. It looks for
	// what follows the kind byte: every record starts with one of a few
	// kinds, where a digest's bytes rarely repeat.
	newest := func(key []byte) int {
		kind, rest := key[0], string(key[1:])
		found := -1
		for from := 1; from < len(body); {
			i := strings.Index(body[from:], rest)
			if i < 0 {
				break
			}
			p := from + i - 1 // where the record would start
			if e := p + len(key); body[p] == kind && e+4 <= len(body) &&
				float64(binary.LittleEndian.Uint32([]byte(body[e:e+4]))) > nowM {
				found = p
			}
			from = p + 2
		}
		return found
	}
	for i := 0; i < len(f.absent); i += 9 {
		if newest(f.absent[i:i+9]) >= 0 {
			return false
		}
	}
	for i := 0; i < len(f.checks); i += checkLen {
		c := f.checks[i : i+checkLen]
		x := math.Float64frombits(binary.LittleEndian.Uint64(c[12:]))
		y := math.Float64frombits(binary.LittleEndian.Uint64(c[20:]))
		if c[0] == 2 {
			if p := newest(c[1:10]); p >= 0 && p+21 <= len(body) {
				d := math.Float64frombits(binary.LittleEndian.Uint64([]byte(body[p+13 : p+21])))
				if x >= d && x-d < scanner {
					return false
				}
			}
			continue
		}
		if p := newest(c[1:8]); p >= 0 && p+15 <= len(body) {
			used := binary.LittleEndian.Uint32([]byte(body[p+11 : p+15]))
			if float64(used)+x > y {
				return false
			}
			if used > 0 {
				f.appended = append(f.appended, c[1:12]...)
				f.appended = binary.LittleEndian.AppendUint32(f.appended, used+uint32(x))
			}
		}
	}
	return true
}

// appendPack appends Go's judgement for np partner fields to dst (the end
// of ARGV[1]): '<ddB' (ds, last, suppression code) and np partner deltas.
func (f *fresh) appendPack(dst []byte, np int) []byte {
	b := appendFloat(dst, f.ds)
	b = appendFloat(b, f.last)
	b = append(b, f.sup)
	for i := range np {
		var v float64
		if i < len(f.partner) {
			v = f.partner[i]
		}
		b = appendFloat(b, v)
	}
	return b
}
