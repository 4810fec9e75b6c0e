package scoring

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/event"
)

// TestEngineOnEmbeddedRedis runs the engine on the embedded Redis (what
// `longtail serve` uses without redis.url) beside one on redis-server:
// new and returning contacts, duplicates sent again, compactions over 20
// days. Scores, explanations and timelines must agree, to the bit.
func TestEngineOnEmbeddedRedis(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	mini := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer mini.Close()
	server := setup(t, Config{})
	var now time.Time
	clock := func() time.Time { return now }
	embedded, err := NewEngine(mini, Config{}, clock)
	if err != nil {
		t.Fatal(err)
	}
	reference, err := NewEngine(server.rdb, Config{}, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for d := range 20 {
		now = t0.Add(time.Duration(d) * Day)
		var batches []Batch
		for c := range 3 {
			tg := Target{PartnerID: "p", ContactID: fmt.Sprint("c", c)}
			batches = append(batches, Batch{tg, fillContactEvents(make([]event.Event, 5), fmt.Sprintf("c%d.%d", c, d), now)})
		}
		for _, eng := range []*Engine{embedded, reference} {
			if _, err := eng.ApplyBatch(ctx, batches); err != nil {
				t.Fatalf("day %d: %v", d, err)
			}
			if r, err := eng.Apply(ctx, batches[0].Target, batches[0].Events); err != nil || !r.Events[0].Duplicate {
				t.Fatalf("day %d: sent again: %+v, %v", d, r, err)
			}
		}
	}
	for _, cid := range []string{"c0", "c1", "c2"} {
		got, err := embedded.Contact(ctx, "p", cid)
		if err != nil {
			t.Fatal(err)
		}
		want, err := reference.Contact(ctx, "p", cid)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("contact %s (-redis-server, +embedded):\n%s", cid, diff)
		}
	}
	got, err := embedded.Explain(ctx, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := reference.Explain(ctx, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("explain (-redis-server, +embedded):\n%s", diff)
	}
	if gen := binNum(mini.Get(ctx, contactScoreKey("p", "c0")).Val(), slotCompactions); gen == 0 {
		t.Error("no compaction ran on the embedded Redis")
	}
}
