package directory

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { redistest.Main(m) }

type fixture struct {
	ctx   context.Context
	rdb   *redis.Client
	clock *testclock.Clock
	store *Store
}

func setup(t testing.TB) *fixture {
	t.Helper()
	rdb := redistest.New(t)
	clock := testclock.New(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	s, err := New(rdb, Config{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{ctx: context.Background(), rdb: rdb, clock: clock, store: s}
}

// snapshot returns every key of the database with its DUMP, to prove that
// an operation changed nothing at all.
func (f *fixture) snapshot(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	iter := f.rdb.Scan(f.ctx, 0, "*", 1000).Iterator()
	var keys []string
	for iter.Next(f.ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	pipe := f.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Dump(f.ctx, k)
	}
	if _, err := pipe.Exec(f.ctx); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		out[k] = cmds[i].Val()
	}
	return out
}

func (f *fixture) keys(t testing.TB) []string {
	t.Helper()
	keys, err := f.rdb.Keys(f.ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

func (f *fixture) putPartner(t testing.TB, id string) Partner {
	t.Helper()
	p, _, err := f.store.PutPartner(f.ctx, Partner{ID: id, Name: "Partner " + id})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
