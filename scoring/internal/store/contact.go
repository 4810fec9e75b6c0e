package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
)

// HeaderLen is the length of the contact string's header.
const HeaderLen = 56

// TokenLen is the length of the write token, the header's last slot.
const TokenLen = 8

// Header is a contact string's header (see the package doc).
type Header struct {
	PruneAt     float64 // next compaction time, minutes
	N           float64 // normalised score
	Fit         float64
	Suppression float64 // code: an index in Suppressions
	Limit       float64 // the length past which compaction is due
	Compactions float64
	Token       [TokenLen]byte
}

// Suppressions are the suppression reasons by their stored codes. Append
// only.
var Suppressions = []string{"", "hard_bounce", "spam", "unsubscribe"}

// SuppressionCode is the stored code of a suppression reason (0 for "").
func SuppressionCode(reason string) uint8 {
	for i, s := range Suppressions {
		if s == reason {
			return uint8(i)
		}
	}
	return 0
}

// SuppressionOf is the reason of a stored code, "" for none or an unknown
// one.
func SuppressionOf(code float64) string {
	if i := int(code); i > 0 && i < len(Suppressions) {
		return Suppressions[i]
	}
	return ""
}

// ParseHeader reads the header of a stored contact string s, which must
// not be empty.
func ParseHeader(s string) (Header, error) {
	if len(s) < HeaderLen {
		return Header{}, fmt.Errorf("stored contact of %d bytes: shorter than its header", len(s))
	}
	var h Header
	h.PruneAt, h.N, h.Fit, h.Suppression = Float(s, 0), Float(s, 1), Float(s, 2), Float(s, 3)
	h.Limit, h.Compactions = Float(s, 4), Float(s, 5)
	copy(h.Token[:], s[HeaderLen-TokenLen:HeaderLen])
	return h, nil
}

// Append appends the header's bytes to b.
func (h *Header) Append(b []byte) []byte {
	for _, f := range [...]float64{h.PruneAt, h.N, h.Fit, h.Suppression, h.Limit, h.Compactions} {
		b = AppendFloat(b, f)
	}
	return append(b, h.Token[:]...)
}

// TokenHex is the write token as hex, for people.
func (h *Header) TokenHex() string { return hex.EncodeToString(h.Token[:]) }

// Record kinds (the first byte of a record).
const (
	KindID       = 'i'
	KindOpen     = 'o'
	KindClick    = 'c'
	KindDelivery = 'd'
	KindCap      = 'k'
	KindExplain  = 'x'
)

// Lengths of the marker records' keys and whole records.
const (
	DigestLen   = 8
	MarkerKey   = 1 + DigestLen // i, o, c and d records
	CapKey      = 1 + 2 + 4     // k records
	MarkerLen   = MarkerKey + 4 // i, o and c records
	DeliveryLen = MarkerKey + 4 + 8
	CapLen      = CapKey + 4 + 4
)

// ExplainLen is the number of values of a full explain aggregate: count,
// points, N and one counter per filter reason.
const ExplainLen = 8

// Digest is the first DigestLen bytes of SHA-256(prefix + s), which name
// event ids ("i") and messages ("m") in markers.
func Digest(prefix, s string) [DigestLen]byte {
	var in [128]byte
	sum := sha256.Sum256(append(append(in[:0], prefix...), s...))
	return [DigestLen]byte(sum[:DigestLen])
}

// AppendMarkerKey appends the key of an i, o, c or d record.
func AppendMarkerKey(b []byte, kind byte, digest [DigestLen]byte) []byte {
	return append(append(b, kind), digest[:]...)
}

// AppendCapKey appends the key of a daily-cap record.
func AppendCapKey(b []byte, code string, day int64) []byte {
	b = append(append(b, KindCap), code...)
	return binary.LittleEndian.AppendUint32(b, uint32(day))
}

// AppendExplainKey appends the key of an explain record.
func AppendExplainKey(b []byte, code, topic string) []byte {
	b = binary.LittleEndian.AppendUint16(append(b, KindExplain), uint16(len(topic)))
	return append(append(b, code...), topic...)
}

// AppendMarker appends a marker record: key, expiry, then the caller
// appends its payload (a delivery time, a count).
func AppendMarker(b []byte, key string, exp uint32) []byte {
	return binary.LittleEndian.AppendUint32(append(b, key...), exp)
}

// AppendExplain appends an explain record: its key, then 3 values when no
// filter counter is set, else ExplainLen.
func AppendExplain[K string | []byte](b []byte, key K, v *[ExplainLen]float64) []byte {
	b = append(b, key...)
	m := 3
	for _, c := range v[3:] {
		if c != 0 {
			m = ExplainLen
		}
	}
	b = append(b, byte(m))
	for _, x := range v[:m] {
		b = AppendFloat(b, x)
	}
	return b
}

// Newest is the position in body (a contact string after its header) of
// the newest record with key whose expiry is after nowM, or -1. Its
// payload starts at the returned position + len(key) + 4.
//
// It searches for what follows the kind byte: every record starts with
// one of a few kinds, where a digest's bytes rarely repeat.
func Newest(body, key string, nowM int64) int {
	kind, rest := key[0], key[1:]
	found := -1
	for from := 1; from < len(body); {
		i := strings.Index(body[from:], rest)
		if i < 0 {
			break
		}
		p := from + i - 1 // where the record would start
		if e := p + len(key); body[p] == kind && e+4 <= len(body) &&
			int64(binary.LittleEndian.Uint32([]byte(body[e:e+4]))) > nowM {
			found = p
		}
		from = p + 2
	}
	return found
}

// Walk calls fn with each record of body (a contact string after its
// header): its kind, its key (for markers the part lookups match, for
// explain records "x", topic length, code, topic) and the whole record.
func Walk(body string, fn func(kind byte, key, rec string)) error {
	for pos := 0; pos < len(body); {
		size, kl := MarkerLen, MarkerKey
		switch body[pos] {
		case KindID, KindOpen, KindClick:
		case KindDelivery:
			size = DeliveryLen
		case KindCap:
			size, kl = CapLen, CapKey
		case KindExplain:
			if pos+6 > len(body) {
				return fmt.Errorf("explain record at byte %d cut short", pos)
			}
			tn := int(body[pos+1]) | int(body[pos+2])<<8
			kl = 5 + tn
			if pos+kl >= len(body) {
				return fmt.Errorf("explain record at byte %d cut short", pos)
			}
			m := int(body[pos+kl])
			if m != 3 && m != ExplainLen {
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

// Expiry is a marker record's expiry (minutes), given its key length.
func Expiry(rec string, keyLen int) int64 {
	return int64(binary.LittleEndian.Uint32([]byte(rec[keyLen : keyLen+4])))
}

// ExplainKey splits an explain record's key into type code and topic.
func ExplainKey(key string) (code, topic string) { return key[3:5], key[5:] }

// ExplainSums adds up explain records by key, in stored order (as they are
// appended, so a sum reads the same before and after compaction), and
// remembers the order keys were first seen in.
type ExplainSums struct {
	Sums  map[string]*[ExplainLen]float64
	Order []string
}

// Add adds explain record rec, whose key is kl bytes long, under name.
func (x *ExplainSums) Add(name, rec string, kl int) {
	sum := x.Sums[name]
	if sum == nil {
		if x.Sums == nil {
			x.Sums = map[string]*[ExplainLen]float64{}
		}
		sum = new([ExplainLen]float64)
		x.Sums[name] = sum
		x.Order = append(x.Order, name)
	}
	for i := range int(rec[kl]) {
		sum[i] += Float(rec[kl+1:], i)
	}
}

// Explains sums the explain records of body by key.
func Explains(body string) (ExplainSums, error) {
	var xs ExplainSums
	err := Walk(body, func(kind byte, key, rec string) {
		if kind == KindExplain {
			xs.Add(key, rec, len(key))
		}
	})
	return xs, err
}

// Compact compacts body (a contact string after its header) at nowM:
// explain records summed into one per key, in first-seen order and added
// in stored order (so a sum reads the same before and after), then the
// unexpired markers in order, of d and k records only the newest.
func Compact(body string, nowM int64) (string, error) {
	var xs ExplainSums
	var keep []string
	latest := map[string]int{}
	err := Walk(body, func(kind byte, key, rec string) {
		if kind == KindExplain {
			xs.Add(key, rec, len(key))
			return
		}
		if Expiry(rec, len(key)) <= nowM {
			return
		}
		if kind == KindDelivery || kind == KindCap {
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
	for _, key := range xs.Order {
		b = AppendExplain(b, key, xs.Sums[key])
	}
	for _, r := range keep {
		b = append(b, r...)
	}
	return string(b), nil
}

// MinLimit is the length below which a contact string is compacted only at
// its compaction time: compacting sends the whole string to Redis, and a
// few kilobytes of expired markers cost little. A contact seeing a batch a
// day is compacted about weekly.
const MinLimit = 4096

// Write is how a commit writes the contact string: its header rewritten
// in place and records appended, or the whole string replaced (a new
// contact, a compaction).
type Write struct {
	Replace bool
	// Value is the header to write at offset 0, or the whole string.
	Value string
	// Records are appended after the header is written ("" when
	// replacing).
	Records string
}

// Next is how a commit of records writes the contact stored as s (""
// when none): h is the header to write (its token new); compaction, when
// due at nowM (the compaction time reached, or the string grown past its
// limit), replaces the string with its compaction and sets the header's
// compaction fields, with the next one due at nextM. A contact that does
// not parse is not compacted: the batch is committed all the same, and
// reads report what is wrong.
func Next(s string, h Header, records []byte, nowM, nextM int64) Write {
	if s == "" {
		h.PruneAt, h.Limit = float64(nextM), MinLimit
		return Write{Replace: true, Value: joinHeader(&h, records)}
	}
	if float64(nowM) >= h.PruneAt || float64(len(s)+len(records)) > h.Limit {
		if compacted, err := Compact(s[HeaderLen:]+string(records), nowM); err == nil {
			h.PruneAt, h.Compactions = float64(nextM), h.Compactions+1
			h.Limit = math.Max(MinLimit, float64(2*len(compacted)))
			return Write{Replace: true, Value: joinHeader(&h, []byte(compacted))}
		}
	}
	both := joinHeader(&h, records) // one allocation for both
	return Write{Value: both[:HeaderLen], Records: both[HeaderLen:]}
}

// joinHeader is h's bytes then records, in one string.
func joinHeader(h *Header, records []byte) string {
	var sb strings.Builder
	sb.Grow(HeaderLen + len(records))
	var b [HeaderLen]byte
	sb.Write(h.Append(b[:0]))
	sb.Write(records)
	return sb.String()
}

// Apply is the contact string w leaves when s was stored.
func (w Write) Apply(s string) string {
	if w.Replace {
		return w.Value
	}
	return w.Value + s[HeaderLen:] + w.Records
}

// Float reads the i-th packed float64 of s; past the end it is 0.
func Float(s string, i int) float64 {
	if len(s) < 8*(i+1) {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64([]byte(s[8*i : 8*i+8])))
}

// AppendFloat appends f as a little-endian float64.
func AppendFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

// PackFloats packs fs as little-endian float64.
func PackFloats(fs ...float64) string {
	b := make([]byte, 0, 8*len(fs))
	for _, f := range fs {
		b = AppendFloat(b, f)
	}
	return string(b)
}

// ExplainValues unpacks an explain aggregate: 3 or ExplainLen float64, the
// missing counters zero.
func ExplainValues(value string) ([ExplainLen]float64, error) {
	var vals [ExplainLen]float64
	if n := len(value); n%8 != 0 || n < 24 || n > 8*len(vals) {
		return vals, fmt.Errorf("%d bytes", n)
	}
	for i := range len(value) / 8 {
		vals[i] = Float(value, i)
	}
	return vals, nil
}
