package listtrim_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/longtailhq/longtail/internal/listtrim"
	"github.com/longtailhq/longtail/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestOldest(t *testing.T) {
	t.Parallel()
	old := func(s string) bool { return strings.HasPrefix(s, "old") }
	tests := []struct {
		name  string
		elems []string
		end   listtrim.End
		want  []string
	}{
		{"head, oldest first", []string{"old1", "old2", "new", "old3"}, listtrim.Head, []string{"old1", "old2"}},
		{"tail, newest first", []string{"old3", "new", "old2", "old1"}, listtrim.Tail, []string{"old1", "old2"}},
		{"nothing old at the end", []string{"new", "old"}, listtrim.Head, nil},
		{"all old", []string{"old1", "old2"}, listtrim.Tail, []string{"old2", "old1"}},
		{"empty", nil, listtrim.Head, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := listtrim.Oldest(tc.elems, tc.end, old); !slices.Equal(got, tc.want) {
				t.Errorf("Oldest = %v, want %v", got, tc.want)
			}
		})
	}
}

// Pop removes the decided elements only while they are still at the
// list's end: a second Pop of the same decision, or one made before
// another writer trimmed the list, removes nothing more.
func TestPopOnlyWhatWasDecided(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	rdb.RPush(ctx, "head", "a", "b", "c", "d")
	rdb.LPush(ctx, "tail", "a", "b", "c", "d") // d c b a
	drops := []listtrim.Drop{
		{Key: "head", End: listtrim.Head, Elems: []string{"a", "b"}},
		{Key: "tail", End: listtrim.Tail, Elems: []string{"a", "b"}},
		{Key: "missing", End: listtrim.Head, Elems: []string{"a"}},
		{Key: "head", End: listtrim.Head}, // nothing decided
	}
	n, err := listtrim.Pop(ctx, rdb, drops)
	if err != nil || n != 4 {
		t.Fatalf("Pop = %d, %v; want 4", n, err)
	}
	if n, err := listtrim.Pop(ctx, rdb, drops); err != nil || n != 0 {
		t.Fatalf("second Pop = %d, %v; want 0", n, err)
	}
	// A decision made on a read the list no longer matches (its head is
	// c, not d) removes nothing.
	if n, err := listtrim.Pop(ctx, rdb, []listtrim.Drop{{Key: "head", End: listtrim.Head, Elems: []string{"d", "c"}}}); err != nil || n != 0 {
		t.Fatalf("stale Pop = %d, %v; want 0", n, err)
	}
	for key, want := range map[string][]string{"head": {"c", "d"}, "tail": {"d", "c"}} {
		if got := rdb.LRange(ctx, key, 0, -1).Val(); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
}

// Decide drops nothing from lists whose old end is recent or that are
// missing, and the old run of the others.
func TestDecide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	rdb.RPush(ctx, "due", "old1", "old2", "new", "old3")
	rdb.RPush(ctx, "recent", "new", "old1")
	old := func(s string) bool { return strings.HasPrefix(s, "old") }
	drops, err := listtrim.Decide(ctx, rdb, []string{"recent", "missing", "due"}, listtrim.Head, old)
	if err != nil {
		t.Fatal(err)
	}
	if len(drops) != 1 || drops[0].Key != "due" || !slices.Equal(drops[0].Elems, []string{"old1", "old2"}) {
		t.Errorf("Decide = %+v, want due's old1 and old2", drops)
	}
	drops, err = listtrim.Decide(ctx, rdb, []string{"recent", "due"}, listtrim.Tail, old)
	if err != nil {
		t.Fatal(err)
	}
	if len(drops) != 2 || !slices.Equal(drops[0].Elems, []string{"old1"}) || !slices.Equal(drops[1].Elems, []string{"old3"}) {
		t.Errorf("Decide from the tail = %+v", drops)
	}
}
