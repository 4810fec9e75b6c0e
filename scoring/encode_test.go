package scoring

import (
	"encoding/json"
	"fmt"
	"github.com/redis/go-redis/v9"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
)

func TestTimelineEncodingMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		ev   event.Event
	}{
		{"minimal", event.Event{ID: "a", Type: event.WebVisit, OccurredAt: t0}},
		{"all fields", event.Event{
			ID: "sg:1", Type: event.EmailClick, OccurredAt: t0.Add(123456789 * time.Nanosecond).In(paris),
			Topic: "deal-registration", Title: "Register deals", URL: "https://vendor.example/deals?a=1&b=<2>",
			Source: "sendgrid", MessageID: "msg-1",
		}},
		{"escapes", event.Event{
			ID: "q\"uote\\back\nline\ttab\r\b\f\x00\x1f", Type: event.EmailOpen, OccurredAt: t0,
			Title: "é ü 日本 😀 \u2028 \u2029 <script>&</script>", URL: "bad utf8 \xff\xfe end",
			Topic: "\x7f del", Source: strings.Repeat("long ", 50),
		}},
		{"before epoch", event.Event{ID: "old", Type: event.Purchase, OccurredAt: Epoch.Add(-400 * Day)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := tt.ev
			want, err := json.Marshal(storedItem{
				ID: ev.ID, Type: typeCodes[ev.Type], OccurredAt: ev.OccurredAt, Topic: ev.Topic,
				Title: ev.Title, URL: ev.URL, Source: ev.Source, MessageID: ev.MessageID, Points: 2.5,
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendTimelineHead([]byte("prefix"), &ev)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, `,"p":2.5}`...)
			if g, w := string(got), "prefix"+string(want); g != w {
				t.Errorf("appendTimelineHead:\n got %s\nwant %s", g, w)
			}
			// What is stored reads back as the event's timeline item.
			it, err := parseTimelineItem(got[len("prefix"):])
			if err != nil {
				t.Fatal(err)
			}
			// JSON strings hold valid UTF-8: each invalid byte reads back
			// as U+FFFD, as string([]rune(s)) makes it.
			valid := func(s string) string { return string([]rune(s)) }
			wantItem := TimelineItem{ID: valid(ev.ID), Type: ev.Type, OccurredAt: ev.OccurredAt, Topic: valid(ev.Topic),
				Points: 2.5, Title: valid(ev.Title), URL: valid(ev.URL), Source: valid(ev.Source), MessageID: valid(ev.MessageID)}
			if diff := cmp.Diff(wantItem, it); diff != "" {
				t.Errorf("parseTimelineItem (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestAppendTimelineHeadRejectsUnencodableTime(t *testing.T) {
	t.Parallel()
	ev := event.Event{ID: "a", Type: event.WebVisit, OccurredAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := appendTimelineHead(nil, &ev); err == nil {
		t.Fatal("year 10000 encoded; encoding/json refuses it")
	}
}

func TestExplainValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		value   string
		want    [explainLen]float64
		wantErr bool
	}{
		{"scored only", packFloats(3, 12.5, 1e300), [explainLen]float64{3, 12.5, 1e300}, false},
		{"with counters", packFloats(1, 2, 3, 4, 5, 6, 7, 8), [explainLen]float64{1, 2, 3, 4, 5, 6, 7, 8}, false},
		{"too short", packFloats(1, 2), [explainLen]float64{}, true},
		{"too long", packFloats(1, 2, 3, 4, 5, 6, 7, 8, 9), [explainLen]float64{}, true},
		{"not float64s", "1 2 3", [explainLen]float64{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := explainValues(tt.value)
			if (err != nil) != tt.wantErr {
				t.Fatalf("explainValues err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("explainValues = %v, want %v", got, tt.want)
			}
		})
	}
	if explainLen != 3+len(filterReasons) {
		t.Errorf("explainLen %d, want 3 + %d filter reasons", explainLen, len(filterReasons))
	}
}

func TestFieldSet(t *testing.T) {
	t.Parallel()
	for _, n := range []int{5, 100} { // linear scan, then map
		var s fieldSet
		for i := range n {
			if got := s.addCat("k", itoa(int64(i))); got != uint16(i+1) {
				t.Fatalf("n=%d: addCat new #%d = %d", n, i, got)
			}
		}
		for i := range n {
			if got := s.add("k" + itoa(int64(i))); got != uint16(i+1) {
				t.Errorf("n=%d: add existing #%d = %d, want %d", n, i, got, i+1)
			}
			if got := s.addCat("", "k"+itoa(int64(i))); got != uint16(i+1) {
				t.Errorf("n=%d: addCat existing #%d = %d, want %d", n, i, got, i+1)
			}
			if got := s.addCat("k", itoa(int64(i))); got != uint16(i+1) {
				t.Errorf("n=%d: addCat existing #%d = %d, want %d", n, i, got, i+1)
			}
		}
		if len(s.list) != n {
			t.Errorf("n=%d: %d fields, want %d", n, len(s.list), n)
		}
	}
}

func TestPackFloatsRoundTrip(t *testing.T) {
	t.Parallel()
	vals := []float64{0, -0.5, 1.0 / 3, math.MaxFloat64, math.SmallestNonzeroFloat64, 1e300 * 3}
	b := packFloats(vals...)
	for i, v := range vals {
		if got := binNum(b, i); got != v {
			t.Errorf("value %d: %v, want %v", i, got, v)
		}
	}
	if got := binNum(b, len(vals)); got != 0 {
		t.Errorf("past the end: %v, want 0", got)
	}
}

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
	if err := leaderboardScript.Run(b.ctx, b.rdb, keys, "a", 5, "50").Err(); err != nil {
		t.Fatal(err)
	}
	// a is stale, b new, c twice in one call (the newer version wins
	// whatever the order).
	n, err := leaderboardScript.Run(b.ctx, b.rdb, keys, "a", 4, "40", "b", 1, "10", "c", 3, "30", "c", 2, "20").Int()
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

func TestAppendApplyKeys(t *testing.T) {
	t.Parallel()
	b, ends := appendApplyKeys([]byte("x"), "p1", "c1")
	var got []string
	prev := 1
	for _, end := range ends {
		got = append(got, string(b[prev:end]))
		prev = end
	}
	want := []string{contactScoreKey("p1", "c1"), contactTimelineKey("p1", "c1"), partnerScoreKey("p1"), partnerContactsKey("p1")}
	if !slices.Equal(got, want) {
		t.Errorf("keys %q, want %q", got, want)
	}
}

// TestChunkEndKeepsRecordOffsetsSmall: a script call's records are
// addressed with uint16 offsets, so long topics make smaller chunks, and
// every chunk still encodes.
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
	rdb := redis.NewClient(&redis.Options{}) // never dialled; closed so its goroutines end
	t.Cleanup(func() { _ = rdb.Close() })
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
				call, err := e.applyArgs(Target{PartnerID: "p", ContactID: "c"}, evs[start:end], t0, true, "")
				if err != nil {
					t.Fatal(err)
				}
				if recs := *call.cmd[3+applyKeyCount+2].(*string); len(recs) > math.MaxUint16 {
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

func TestContactEntries(t *testing.T) {
	t.Parallel()
	list := string(appendContactEntry(appendContactEntry(appendContactEntry(nil, "c1"), "c\n{2}"), "c1"))
	tests := []struct {
		name, in string
		want     []string
		err      bool
	}{
		{"empty", "", nil, false},
		{"each id once, in order", list, []string{"c1", "c\n{2}"}, false},
		{"cut short", list[:len(list)-1], nil, true},
		{"half a length", "\x05", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseContactEntries(tt.in)
			if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
				t.Errorf("parseContactEntries(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}
