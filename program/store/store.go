// Package store keeps what the program view needs beyond the directory,
// scoring and the rep queue: each partner's results log (its deals and
// purchases with date, value and origin), its months with engagement and
// a daily snapshot of its score; and it gathers program.Facts from all of
// them. Package program stays pure; this is its Redis side.
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
)

// Kinds of results in the log.
const (
	kindDeal     = "d" // deal.registered: a deal
	kindWon      = "w" // deal.won: revenue, like a purchase
	kindPurchase = "p" // purchase: revenue
)

// snapshotSlots bounds the snapshot ring: 100 days cover the 90-day
// comparison with room for a missed night or two.
const snapshotSlots = 100

// snapshotRecord is the size of one snapshot: uint16 day, float32 score.
const snapshotRecord = 6

// engagedMonthsKept bounds the months with engagement: "engaged every
// month" looks at the 12 full months before now's; 25 leave a margin.
const engagedMonthsKept = 25

// chunk is how many partners one pipeline carries.
const chunk = 500

// epoch is day 0 of the snapshot days.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Result is one deal or purchase to log for a partner.
type Result struct {
	PartnerID string
	// EventID makes the record idempotent: a second record of the same
	// event id for the partner changes nothing.
	EventID string
	// Type is deal.registered, deal.won or purchase; other types are
	// ignored.
	Type   event.Type
	At     time.Time
	Value  float64
	Origin string
}

// Engagement is one scored engagement of a partner.
type Engagement struct {
	PartnerID string
	At        time.Time
}

// Store is the program view's Redis state.
type Store struct {
	rdb  redis.UniversalClient
	deps Deps
}

// New checks its collaborators. deps may be left zero by a caller that
// only records (the worker); Facts and AllFacts need all of them.
func New(rdb redis.UniversalClient, deps Deps) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("program/store: a Redis client is required")
	}
	return &Store{rdb: rdb, deps: deps}, nil
}

func kindOf(t event.Type) string {
	switch t {
	case event.DealRegistered:
		return kindDeal
	case event.DealWon:
		return kindWon
	case event.Purchase:
		return kindPurchase
	}
	return ""
}

// Record logs results and engagements, idempotently: a result by its
// event id (the first record wins), an engagement as its month's latest.
func (s *Store) Record(ctx context.Context, results []Result, engaged []Engagement) error {
	if len(results) == 0 && len(engaged) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	for _, r := range results {
		k := kindOf(r.Type)
		if k == "" || r.PartnerID == "" || r.EventID == "" {
			continue
		}
		v := k + " " + strconv.FormatInt(r.At.UnixMilli(), 10) + " " + strconv.FormatFloat(r.Value, 'g', -1, 64) + " " + r.Origin
		pipe.HSetNX(ctx, resultsKey(r.PartnerID), r.EventID, v)
	}
	latest := map[string]time.Time{}
	for _, e := range engaged {
		if e.PartnerID == "" {
			continue
		}
		at := e.At.UTC()
		pipe.ZAddGT(ctx, engagedKey(e.PartnerID), redis.Z{Score: float64(at.UnixMilli()), Member: at.Format("2006-01")})
		if at.After(latest[e.PartnerID]) {
			latest[e.PartnerID] = at
		}
	}
	// Months before the kept ones go, counted from the batch's latest
	// engagement (an old event arriving late is dropped at once).
	for pid, at := range latest {
		oldest := time.Date(at.Year(), at.Month()-engagedMonthsKept+1, 1, 0, 0, 0, 0, time.UTC)
		pipe.ZRemRangeByScore(ctx, engagedKey(pid), "-inf", "("+strconv.FormatInt(oldest.UnixMilli(), 10))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("program/store: record results: %w", err)
	}
	return nil
}

// dayIndex is the snapshot day of t (UTC), plus one so that zero means an
// empty slot.
func dayIndex(t time.Time) int { return int(t.UTC().Sub(epoch)/(24*time.Hour)) + 1 }

// Snapshot records each partner's score as the one of day's date (UTC).
// Recording a day again overwrites it; so does recording a day
// snapshotSlots days before it: snapshots are meant to be written for
// today, by the nightly task.
func (s *Store) Snapshot(ctx context.Context, day time.Time, scores map[string]float64) error {
	d := dayIndex(day)
	if d <= 0 || d > math.MaxUint16 {
		return fmt.Errorf("program/store: snapshot day %s is outside 2000–2179", day.Format(time.DateOnly))
	}
	off := int64(d%snapshotSlots) * snapshotRecord
	pipe := s.rdb.Pipeline()
	n := 0
	for pid, score := range scores {
		var rec [snapshotRecord]byte
		binary.LittleEndian.PutUint16(rec[0:], uint16(d))
		binary.LittleEndian.PutUint32(rec[2:], math.Float32bits(float32(score)))
		pipe.SetRange(ctx, snapshotKey(pid), off, string(rec[:]))
		if n++; n%chunk == 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				return fmt.Errorf("program/store: snapshot: %w", err)
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("program/store: snapshot: %w", err)
	}
	return nil
}

// snapshotOn reads the score of day d from a ring; nil when none was
// kept.
func snapshotOn(ring string, d int) *float64 {
	off := (d % snapshotSlots) * snapshotRecord
	if d <= 0 || off+snapshotRecord > len(ring) {
		return nil
	}
	rec := ring[off : off+snapshotRecord]
	if int(binary.LittleEndian.Uint16([]byte(rec[0:2]))) != d {
		return nil
	}
	v := float64(math.Float32frombits(binary.LittleEndian.Uint32([]byte(rec[2:]))))
	return &v
}

// parseResult reads one results-log value.
func parseResult(v string) (kind string, at time.Time, value float64, origin string, err error) {
	f := strings.SplitN(v, " ", 4)
	if len(f) != 4 {
		return "", time.Time{}, 0, "", fmt.Errorf("program/store: malformed result %.40q", v)
	}
	ms, err1 := strconv.ParseInt(f[1], 10, 64)
	value, err2 := strconv.ParseFloat(f[2], 64)
	if err1 != nil || err2 != nil {
		return "", time.Time{}, 0, "", fmt.Errorf("program/store: malformed result %.40q", v)
	}
	return f[0], time.UnixMilli(ms).UTC(), value, f[3], nil
}
