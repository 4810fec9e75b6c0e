package store

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func TestAppendItemMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		ev   Item
	}{
		{"minimal", Item{ID: "a", Type: "wv", OccurredAt: t0}},
		{"all fields", Item{
			ID: "sg:1", Type: "cl", OccurredAt: t0.Add(123456789 * time.Nanosecond).In(paris),
			Topic: "deal-registration", Title: "Register deals", URL: "https://vendor.example/deals?a=1&b=<2>",
			Source: "sendgrid", MessageID: "msg-1", Points: 2.5,
		}},
		{"filtered", Item{ID: "b", Type: "op", OccurredAt: t0, Points: -0.125, Filtered: "machine_open"}},
		{"escapes", Item{
			ID: "q\"uote\\back\nline\ttab\r\b\f\x00\x1f", Type: "op", OccurredAt: t0,
			Title: "é ü 日本 😀 \u2028 \u2029 <script>&</script>", URL: "bad utf8 \xff\xfe end",
			Topic: "\x7f del", Source: strings.Repeat("long ", 50), Points: 1e21,
		}},
		{"before epoch", Item{ID: "old", Type: "pu", OccurredAt: time.Date(2023, 11, 28, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := tt.ev
			want, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := AppendItem([]byte("prefix"), &ev)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := string(got), "prefix"+string(want); g != w {
				t.Errorf("AppendItem:\n got %s\nwant %s", g, w)
			}
			// What is stored reads back as the item.
			it, err := ParseItem(got[len("prefix"):])
			if err != nil {
				t.Fatal(err)
			}
			// JSON strings hold valid UTF-8: each invalid byte reads back
			// as U+FFFD, as string([]rune(s)) makes it.
			valid := func(s string) string { return string([]rune(s)) }
			wantItem := Item{ID: valid(ev.ID), Type: ev.Type, OccurredAt: ev.OccurredAt, Topic: valid(ev.Topic),
				Points: ev.Points, Filtered: ev.Filtered, Title: valid(ev.Title), URL: valid(ev.URL), Source: valid(ev.Source),
				MessageID: valid(ev.MessageID)}
			if diff := cmp.Diff(wantItem, it); diff != "" {
				t.Errorf("ParseItem (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestAppendItemRejectsUnencodableTime(t *testing.T) {
	t.Parallel()
	it := Item{ID: "a", Type: "wv", OccurredAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := AppendItem(nil, &it); err == nil {
		t.Fatal("year 10000 encoded; encoding/json refuses it")
	}
}

func TestExplainValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		value   string
		want    [ExplainLen]float64
		wantErr bool
	}{
		{"scored only", PackFloats(3, 12.5, 1e300), [ExplainLen]float64{3, 12.5, 1e300}, false},
		{"with counters", PackFloats(1, 2, 3, 4, 5, 6, 7, 8), [ExplainLen]float64{1, 2, 3, 4, 5, 6, 7, 8}, false},
		{"too short", PackFloats(1, 2), [ExplainLen]float64{}, true},
		{"too long", PackFloats(1, 2, 3, 4, 5, 6, 7, 8, 9), [ExplainLen]float64{}, true},
		{"not float64s", "1 2 3", [ExplainLen]float64{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ExplainValues(tt.value)
			if (err != nil) != tt.wantErr {
				t.Fatalf("explainValues err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("explainValues = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPackFloatsRoundTrip(t *testing.T) {
	t.Parallel()
	vals := []float64{0, -0.5, 1.0 / 3, math.MaxFloat64, math.SmallestNonzeroFloat64, 1e300 * 3}
	b := PackFloats(vals...)
	for i, v := range vals {
		if got := Float(b, i); got != v {
			t.Errorf("value %d: %v, want %v", i, got, v)
		}
	}
	if got := Float(b, len(vals)); got != 0 {
		t.Errorf("past the end: %v, want 0", got)
	}
}

func TestContactEntries(t *testing.T) {
	t.Parallel()
	list := string(AppendEntry(AppendEntry(AppendEntry(nil, "c1"), "c\n{2}"), "c1"))
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
			got, err := ParseEntries(tt.in)
			if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
				t.Errorf("ParseEntries(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}
