package store

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// marker is a seen-marker record (see the package doc) with expiry exp.
func marker(kind byte, key string, exp uint32, payload string) string {
	return string(kind) + key + string(binary.LittleEndian.AppendUint32(nil, exp)) + payload
}

func explainRec(code, topic string, v ...float64) string {
	var x [ExplainLen]float64
	copy(x[:], v)
	return string(AppendExplain(nil, string(AppendExplainKey(nil, code, topic)), &x))
}

func TestCompact(t *testing.T) {
	t.Parallel()
	u32 := func(n uint32) string { return string(binary.LittleEndian.AppendUint32(nil, n)) }
	tests := []struct {
		name       string
		body, want string
	}{
		{"empty", "", ""},
		{"expired markers go, live ones stay in order",
			marker('i', "AAAAAAAA", 99, "") + marker('i', "BBBBBBBB", 101, "") + marker('o', "CCCCCCCC", 100, "") + marker('c', "DDDDDDDD", 500, ""),
			marker('i', "BBBBBBBB", 101, "") + marker('c', "DDDDDDDD", 500, "")},
		{"only the newest delivery and daily count",
			marker('k', "op\x01\x00\x00\x00", 200, u32(1)) + marker('d', "MMMMMMMM", 300, "\x00\x00\x00\x00\x00\x00\xf0\x3f") +
				marker('k', "op\x01\x00\x00\x00", 200, u32(2)) + marker('k', "cl\x01\x00\x00\x00", 200, u32(1)) +
				marker('d', "MMMMMMMM", 300, "\x00\x00\x00\x00\x00\x00\x00\x40"),
			marker('k', "op\x01\x00\x00\x00", 200, u32(2)) + marker('k', "cl\x01\x00\x00\x00", 200, u32(1)) +
				marker('d', "MMMMMMMM", 300, "\x00\x00\x00\x00\x00\x00\x00\x40")},
		{"explain records summed per key, first, in first-seen order",
			marker('i', "AAAAAAAA", 101, "") + explainRec("wv", "security", 1, 3, 0.5) + explainRec("op", "", 1, 1, 0.25) +
				explainRec("wv", "security", 2, 6, 1, 0, 0, 0, 1) + explainRec("wv", "storage", 1, 3, 0.125),
			explainRec("wv", "security", 3, 9, 1.5, 0, 0, 0, 1) + explainRec("op", "", 1, 1, 0.25) +
				explainRec("wv", "storage", 1, 3, 0.125) + marker('i', "AAAAAAAA", 101, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Compact(tt.body, 100)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("compacted\n%q\nwant\n%q", got, tt.want)
			}
			// Compaction never changes the explain sums.
			before, err := Explains(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			after, err := Explains(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("fields changed (-before, +after):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"z", marker('i', "AAAA", 1, ""), "x\x05\x00op", explainRec("op", "t", 1)[:10]} {
		if _, err := Compact(bad, 0); err == nil {
			t.Errorf("Compact(%q) succeeded", bad)
		}
	}
}
