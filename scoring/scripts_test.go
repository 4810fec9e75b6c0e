package scoring

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring/internal/store"
)

func TestApplyReloadsFlushedScripts(t *testing.T) {
	t.Parallel()
	b := setupPrivate(t, Config{})
	tg := Target{PartnerID: "p", ContactID: "c"}
	b.apply(t, tg, ev("a", event.WebVisit, t0))
	if err := b.rdb.ScriptFlush(b.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	res := b.apply(t, tg, ev("b", event.WebVisit, t0), ev("a", event.WebVisit, t0))
	if res.Events[0].Duplicate || !res.Events[1].Duplicate || res.Version != 2 {
		t.Fatalf("after SCRIPT FLUSH: %+v", res)
	}
	if err := b.rdb.ScriptFlush(b.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.ApplyBatch(b.ctx, []Batch{{Target: Target{PartnerID: "q", ContactID: "c"},
		Events: []event.Event{ev("a", event.WebVisit, t0)}}}); err != nil {
		t.Fatal(err)
	}
	lb, err := b.eng.Leaderboard(b.ctx, 10)
	if err != nil || len(lb) != 2 {
		t.Fatalf("leaderboard after SCRIPT FLUSH: %v, %v; want p and q", lb, err)
	}
}

func TestLeaderboardScriptManyPartners(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	keys := []string{leaderboardKey, leaderboardVersionsKey}
	if err := store.LeaderboardScript.Run(b.ctx, b.rdb, keys, "a", 5, "50").Err(); err != nil {
		t.Fatal(err)
	}
	// a is stale, b new, c twice in one call (the newer version wins
	// whatever the order).
	n, err := store.LeaderboardScript.Run(b.ctx, b.rdb, keys, "a", 4, "40", "b", 1, "10", "c", 3, "30", "c", 2, "20").Int()
	if err != nil || n != 2 {
		t.Fatalf("wrote %d, %v; want b and c", n, err)
	}
	for id, want := range map[string]float64{"a": 50, "b": 10, "c": 30} {
		if s, _ := b.rdb.ZScore(b.ctx, leaderboardKey, id).Result(); s != want {
			t.Errorf("%s: score %v, want %v", id, s, want)
		}
	}
	if v, _ := b.rdb.HGet(b.ctx, leaderboardVersionsKey, "c").Result(); v != "3" {
		t.Errorf("c: version %q, want 3", v)
	}
}

func TestTimelineKeepsLastArrivalsNewestFirst(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{TimelineLength: 4})
	tg := Target{PartnerID: "p", ContactID: "c"}
	at := t0.Add(-time.Hour) // one time for all: the order is the arrival order
	b.apply(t, tg, ev("a", event.WebVisit, at), ev("b", event.WebVisit, at))
	b.apply(t, tg, ev("c", event.WebVisit, at), ev("d", event.WebVisit, at), ev("e", event.WebVisit, at))
	c, err := b.eng.Contact(b.ctx, "p", "c")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range c.Timeline {
		ids = append(ids, it.ID)
	}
	if got, want := strings.Join(ids, ","), "e,d,c,b"; got != want {
		t.Errorf("timeline %s, want %s", got, want)
	}
	// Stored: one element per batch, the newest TimelineLength batches.
	for _, id := range []string{"f", "g", "h"} {
		b.apply(t, tg, ev(id, event.WebVisit, at))
	}
	if n := b.rdb.LLen(b.ctx, contactTimelineKey("p", "c")).Val(); n != 4 {
		t.Errorf("%d timeline elements stored, want 4", n)
	}
	if c, err = b.eng.Contact(b.ctx, "p", "c"); err != nil || len(c.Timeline) != 4 || c.Timeline[0].ID != "h" || c.Timeline[3].ID != "e" {
		t.Errorf("timeline %+v, %v; want h, g, f, e", c.Timeline, err)
	}
}

func TestApplyKeys(t *testing.T) {
	t.Parallel()
	b, ends := applyKeys("p1", "c1")
	var got []string
	prev := 0
	for _, end := range ends {
		got = append(got, string(b[prev:end]))
		prev = end
	}
	want := []string{contactScoreKey("p1", "c1"), contactTimelineKey("p1", "c1"), partnerScoreKey("p1"), partnerContactsKey("p1")}
	if !slices.Equal(got, want) {
		t.Errorf("keys %q, want %q", got, want)
	}
}

// TestChunkEndKeepsRecordOffsetsSmall: a script call's records stay within
// 64 KB, so long topics make smaller chunks, and every chunk still
// encodes.
func TestChunkEndKeepsRecordOffsetsSmall(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("t", event.MaxTextLen)
	tests := []struct {
		name   string
		topic  func(i int) string
		n      int
		chunks int
	}{
		{"short topics", func(int) string { return "security" }, 600, 3},
		{"distinct long topics", func(i int) string { return fmt.Sprint(i) + long[:event.MaxTextLen-4] }, 100, 4},
	}
	// The engine only encodes here; its client never dials, but must be
	// closed so its background goroutines end with the test.
	rdb := redis.NewClient(&redis.Options{})
	t.Cleanup(func() { rdb.Close() })
	e, err := NewEngine(rdb, Config{}, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			evs := make([]event.Event, tt.n)
			for i := range evs {
				evs[i] = event.Event{ID: fmt.Sprint("e", i), Type: event.WebVisit, OccurredAt: t0, Topic: tt.topic(i)}
			}
			chunks := 0
			for start, end := 0, 0; start < len(evs); start = end {
				end = chunkEnd(evs, start)
				if end <= start || end-start > maxChunk {
					t.Fatalf("chunk [%d, %d)", start, end)
				}
				var v verdict
				if err := e.rubric.judge(&v, Target{PartnerID: "p", ContactID: "c"}, evs[start:end], "", t0); err != nil {
					t.Fatal(err)
				}
				if recs := v.records; len(recs) > math.MaxUint16 {
					t.Fatalf("chunk [%d, %d): %d bytes of records", start, end, len(recs))
				}
				chunks++
			}
			if chunks != tt.chunks {
				t.Errorf("%d chunks, want %d", chunks, tt.chunks)
			}
		})
	}
}
