package scoring

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/longtailhq/longtail/internal/scriptrun"
)

// walkRecords calls fn with each record of a stored contact's body (what
// follows its header; see applyScript): its kind, its key (for markers the
// part lookups match, for explain records "x", topic length, code, topic)
// and the whole record.
func walkRecords(body string, fn func(kind byte, key, rec string)) error {
	for pos := 0; pos < len(body); {
		size, kl := 13, 9
		switch body[pos] {
		case 'i', 'o', 'c':
		case 'd':
			size = 21
		case 'k':
			size, kl = 15, 7
		case 'x':
			if pos+6 > len(body) {
				return fmt.Errorf("explain record at byte %d cut short", pos)
			}
			tn := int(body[pos+1]) | int(body[pos+2])<<8
			kl = 5 + tn
			if pos+kl >= len(body) {
				return fmt.Errorf("explain record at byte %d cut short", pos)
			}
			m := int(body[pos+kl])
			if m != 3 && m != explainLen {
				return fmt.Errorf("explain record at byte %d: %d values", pos, m)
			}
			size = kl + 1 + 8*m
		default:
			return fmt.Errorf("unknown record %q at byte %d", body[pos], pos)
		}
		if pos+size > len(body) {
			return fmt.Errorf("record %q at byte %d cut short", body[pos], pos)
		}
		fn(body[pos], body[pos:pos+kl], body[pos:pos+size])
		pos += size
	}
	return nil
}

// explainSums adds up explain records by name, in stored order (as the
// script's records are appended, so a sum reads the same before and after
// compaction), and remembers the order names were first seen in.
type explainSums struct {
	sums  map[string]*[explainLen]float64
	order []string
}

// add adds explain record rec, whose key is kl bytes long, under name.
func (x *explainSums) add(name, rec string, kl int) {
	sum := x.sums[name]
	if sum == nil {
		if x.sums == nil {
			x.sums = map[string]*[explainLen]float64{}
		}
		sum = new([explainLen]float64)
		x.sums[name] = sum
		x.order = append(x.order, name)
	}
	for i := range int(rec[kl]) {
		sum[i] += unpackFloat(rec[kl+1:], i)
	}
}

// compactContact compacts the records of a stored contact s at nowM
// (minutes since Epoch): explain records summed into one per key, in
// first-seen order and added in stored order (so a sum reads the same
// before and after), then the unexpired markers in order, of d and k
// records only the newest.
func compactContact(s string, nowM int64) (string, error) {
	if len(s) < contactHeaderLen {
		return "", fmt.Errorf("stored contact of %d bytes", len(s))
	}
	var xs explainSums
	var keep []string
	latest := map[string]int{}
	err := walkRecords(s[contactHeaderLen:], func(kind byte, key, rec string) {
		if kind == 'x' {
			xs.add(key, rec, len(key))
			return
		}
		if int64(binary.LittleEndian.Uint32([]byte(rec[len(key):]))) <= nowM {
			return
		}
		if kind == 'd' || kind == 'k' {
			if old, ok := latest[key]; ok {
				keep[old] = ""
			}
			latest[key] = len(keep)
		}
		keep = append(keep, rec)
	})
	if err != nil {
		return "", err
	}
	var b []byte
	for _, key := range xs.order {
		b = appendExplain(b, []byte(key), *xs.sums[key])
	}
	for _, r := range keep {
		b = append(b, r...)
	}
	return string(b), nil
}

// compactCall is the compactScript call for a contact whose compaction
// applyScript found due, having read stored; ok is false when none is due,
// or when stored does not parse: the batch was scored all the same, and
// reads of the contact (Contact, Explain) report what is wrong with it,
// where failing here would fail every later batch of the contact too.
func (e *Engine) compactCall(t Target, stored string, now time.Time) (sc scriptrun.Call, ok bool) {
	if stored == "" {
		return sc, false
	}
	nowM := floorDiv(sinceEpoch(now), 60000)
	body, err := compactContact(stored, nowM)
	if err != nil {
		return sc, false
	}
	// The script writes the header over the first contactHeaderLen bytes.
	body = stored[:contactHeaderLen] + body
	return scriptrun.Call{
		Script: compactScript,
		Keys:   []string{contactScoreKey(t.PartnerID, t.ContactID)},
		Args:   []any{binNum(stored, contactGeneration), len(stored), body, nowM + pruneInterval(e.cfg), compactMinLen},
	}, true
}
