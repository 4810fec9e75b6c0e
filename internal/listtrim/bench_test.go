package listtrim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/listtrim"
	"github.com/longtailhq/longtail/internal/redistest"
)

// BenchmarkDecideNothingDue is a nightly pass over 200 timelines of 100
// recent elements of 300 bytes: Decide (one LINDEX each) against reading
// every list whole, as a pass without the end check would. Compare the
// two sub-benchmarks' ns/op as a ratio.
func BenchmarkDecideNothingDue(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.New(b)
	keys := make([]string, 200)
	elem := "new" + strings.Repeat("x", 297)
	for i := range keys {
		keys[i] = fmt.Sprint("tl:", i)
		vals := make([]any, 100)
		for j := range vals {
			vals[j] = elem
		}
		rdb.RPush(ctx, keys[i], vals...)
	}
	old := func(s string) bool { return strings.HasPrefix(s, "old") }
	b.Run("decide", func(b *testing.B) {
		for b.Loop() {
			if d, err := listtrim.Decide(ctx, rdb, keys, listtrim.Head, old); err != nil || len(d) != 0 {
				b.Fatal(d, err)
			}
		}
	})
	b.Run("read-all", func(b *testing.B) {
		for b.Loop() {
			pipe := rdb.Pipeline()
			cmds := make([]*redis.StringSliceCmd, len(keys))
			for i, k := range keys {
				cmds[i] = pipe.LRange(ctx, k, 0, -1)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
			for _, c := range cmds {
				if d := listtrim.Oldest(c.Val(), listtrim.Head, old); len(d) != 0 {
					b.Fatal(d)
				}
			}
		}
	})
}
