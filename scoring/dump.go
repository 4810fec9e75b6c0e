package scoring

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

// ContactDump is everything scoring keeps for a contact, decoded, for
// operators who would otherwise read a hex dump (`longtail score dump`).
// The format is package store's (scoring/internal/store).
type ContactDump struct {
	PartnerID string `json:"partner_id"`
	ContactID string `json:"contact_id"`
	// At is when the dump was read: scores are decayed to it and markers
	// judged live or expired at it.
	At time.Time `json:"at"`
	// Key is the contact string's Redis key, Bytes its length (0 when
	// nothing is stored).
	Key   string `json:"key"`
	Bytes int    `json:"bytes"`
	// Header is nil when nothing is stored.
	Header *DumpHeader `json:"header"`
	// Records in stored order.
	Records []DumpRecord `json:"records"`
	// Malformed says why the records stop short of the string's end, ""
	// when every byte decodes.
	Malformed string `json:"malformed,omitempty"`
	// Explain is the explain records summed per type and topic, as Explain
	// reports them, and Interests the decayed points per topic.
	Explain   []ExplainItem      `json:"explain"`
	Interests map[string]float64 `json:"interests"`
	// Timeline is every stored item, newest arrival first (reads show the
	// newest TimelineLength of them).
	Timeline []TimelineItem `json:"timeline"`
}

// DumpHeader is a contact string's header.
type DumpHeader struct {
	// Score is decayed to the dump's time; N is as stored (normalised).
	Score      float64 `json:"score"`
	N          float64 `json:"n"`
	Fit        float64 `json:"fit"`
	Suppressed string  `json:"suppressed,omitempty"`
	// NextCompaction is when the next compaction is due at the latest;
	// CompactPastBytes the length past which it is due sooner.
	NextCompaction   time.Time `json:"next_compaction"`
	CompactPastBytes int       `json:"compact_past_bytes"`
	Compactions      int       `json:"compactions"`
	// WriteToken changes on every write (hex).
	WriteToken string `json:"write_token"`
}

// DumpRecord is one record of a contact string.
type DumpRecord struct {
	// Offset is where the record starts in the string.
	Offset int `json:"offset"`
	// Kind is event_id, open, click, delivery, daily_cap or explain.
	Kind string `json:"kind"`
	// Digest names the event id or message of an event_id, open, click or
	// delivery record (hex); EventID and MessageID are the id it digests
	// when a timeline item has it.
	Digest    string `json:"digest,omitempty"`
	EventID   string `json:"event_id,omitempty"`
	MessageID string `json:"message_id,omitempty"`
	// Type and Day (UTC) of a daily_cap record, and Count its events.
	Type  event.Type `json:"type,omitempty"`
	Day   string     `json:"day,omitempty"`
	Count int        `json:"count,omitempty"`
	// DeliveredAt is a delivery record's time.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// Expires is a marker's expiry; Live whether it counts at the dump's
	// time (unexpired, and the newest record of its key).
	Expires *time.Time `json:"expires,omitempty"`
	Live    bool       `json:"live"`
	// Explain is an explain record's deltas (Decayed to the dump's time).
	Explain *ExplainItem `json:"explain,omitempty"`
}

// recordKinds names the record kinds for people.
var recordKinds = map[byte]string{
	store.KindID: "event_id", store.KindOpen: "open", store.KindClick: "click",
	store.KindDelivery: "delivery", store.KindCap: "daily_cap", store.KindExplain: "explain",
}

// Dump reads and decodes everything scoring keeps for a contact. An
// unknown contact dumps as nothing stored; a contact string that does not
// decode dumps as far as it does, with Malformed saying why.
func (e *Engine) Dump(ctx context.Context, partnerID, contactID string) (*ContactDump, error) {
	if err := checkTarget(Target{PartnerID: partnerID, ContactID: contactID}); err != nil {
		return nil, err
	}
	key := contactScoreKey(partnerID, contactID)
	pipe := e.rdb.Pipeline()
	get := pipe.Get(ctx, key)
	tl := pipe.LRange(ctx, contactTimelineKey(partnerID, contactID), 0, -1)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("scoring: dump contact %s: %w", contactID, err)
	}
	if err := tl.Err(); err != nil {
		return nil, fmt.Errorf("scoring: dump contact %s timeline: %w", contactID, err)
	}
	now := e.clock()
	d := e.decay(now)
	s := get.Val()
	out := &ContactDump{
		PartnerID: partnerID, ContactID: contactID, At: now.UTC(), Key: key, Bytes: len(s),
		Records: []DumpRecord{}, Explain: []ExplainItem{}, Interests: map[string]float64{}, Timeline: []TimelineItem{},
	}
	elems := tl.Val()
	for i := len(elems) - 1; i >= 0; i-- {
		items := strings.Split(elems[i], "\n")
		for j := len(items) - 1; j >= 0; j-- {
			it, err := e.rubric.timelineItem([]byte(items[j]))
			if err != nil {
				return nil, fmt.Errorf("scoring: contact %s timeline item: %w", contactID, err)
			}
			out.Timeline = append(out.Timeline, it)
		}
	}
	if s == "" {
		return out, nil
	}
	h, err := store.ParseHeader(s)
	if err != nil {
		out.Malformed = err.Error()
		return out, nil
	}
	out.Header = &DumpHeader{
		Score: h.N * d, N: h.N, Fit: h.Fit, Suppressed: store.SuppressionOf(h.Suppression),
		NextCompaction:   minuteTime(int64(h.PruneAt)),
		CompactPastBytes: int(h.Limit), Compactions: int(h.Compactions), WriteToken: h.TokenHex(),
	}
	// What the digests stand for, where the timeline says.
	names := map[string]string{}
	for _, it := range out.Timeline {
		id := store.Digest("i", it.ID)
		names["i"+string(id[:])] = it.ID
		if it.MessageID != "" {
			msg := store.Digest("m", it.MessageID)
			names["m"+string(msg[:])] = it.MessageID
		}
	}
	nowM := floorDiv(sinceEpoch(now), 60000)
	body := s[store.HeaderLen:]
	var xs store.ExplainSums
	newest := map[string]int{} // marker key → index in Records of its newest live record
	pos := store.HeaderLen
	err = store.Walk(body, func(kind byte, key, rec string) {
		r := DumpRecord{Offset: pos, Kind: recordKinds[kind]}
		pos += len(rec)
		if kind == store.KindExplain {
			xs.Add(key, rec, len(key))
			code, topic := store.ExplainKey(key)
			it, err := e.rubric.parseExplain("x"+code+topic, rec[len(key)+1:], d)
			if err == nil {
				r.Explain = &it
			}
			out.Records = append(out.Records, r)
			return
		}
		exp := store.Expiry(rec, len(key))
		at := minuteTime(exp)
		r.Expires = &at
		payload := rec[len(key)+4:]
		switch kind {
		case store.KindCap:
			typ, _ := typeOfCode(e.rubric.types, key[1:3])
			r.Type = typ
			r.Day = Epoch.Add(time.Duration(int32(binary.LittleEndian.Uint32([]byte(key[3:7])))) * Day).Format(time.DateOnly)
			r.Count = int(binary.LittleEndian.Uint32([]byte(payload)))
		default:
			r.Digest = hex.EncodeToString([]byte(key[1:]))
			if kind == store.KindID {
				r.EventID = names[key]
			} else {
				r.MessageID = names["m"+key[1:]]
			}
			if kind == store.KindDelivery {
				t := Epoch.Add(time.Duration(store.Float(payload, 0)) * time.Millisecond)
				r.DeliveredAt = &t
			}
		}
		if exp > nowM {
			if j, ok := newest[key]; ok {
				out.Records[j].Live = false
			}
			newest[key] = len(out.Records)
			r.Live = true
		}
		out.Records = append(out.Records, r)
	})
	if err != nil {
		out.Malformed = err.Error()
	}
	for _, key := range xs.Order {
		code, topic := store.ExplainKey(key)
		it, err := e.rubric.parseExplain("x"+code+topic, store.PackFloats(xs.Sums[key][:]...), d)
		if err != nil {
			return nil, fmt.Errorf("scoring: dump contact %s: %w", contactID, err)
		}
		out.Explain = append(out.Explain, it)
		if topic != "" {
			out.Interests[topic] += xs.Sums[key][2] * d
		}
	}
	sort.SliceStable(out.Explain, func(a, b int) bool { return out.Explain[a].Decayed > out.Explain[b].Decayed })
	return out, nil
}

// minuteTime is a time in minutes since Epoch.
func minuteTime(m int64) time.Time { return Epoch.Add(time.Duration(m) * time.Minute) }
