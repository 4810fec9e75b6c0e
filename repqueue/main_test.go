package repqueue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/scoring"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// monday10 is Monday 16 November 2026, 10:00 UTC: inside business hours.
var monday10 = time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)

// bundle is one test's queue on its own Redis database, with the real
// directory and scoring engine.
type bundle struct {
	ctx   context.Context
	rdb   *redis.Client
	dir   *directory.Store
	eng   *scoring.Engine
	q     *Queue
	clock *testclock.Clock
}

func setup(t testing.TB, cfg Config) *bundle {
	t.Helper()
	rdb := redistest.New(t)
	clk := testclock.New(monday10)
	dir, err := directory.New(rdb, directory.Config{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := scoring.NewEngine(rdb, scoring.Config{}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := New(rdb, dir, eng, cfg, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{ctx: context.Background(), rdb: rdb, dir: dir, eng: eng, q: q, clock: clk}
}

// rep puts an active rep with a capacity; opts adjust it.
func (b *bundle) rep(t testing.TB, id string, capacity int, opts ...func(*directory.Rep)) directory.Rep {
	t.Helper()
	r := directory.Rep{ID: id, Name: "Rep " + id, Email: id + "@vendor.example", DailyCapacity: capacity, Active: true}
	for _, o := range opts {
		o(&r)
	}
	out, _, err := b.dir.PutRep(b.ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (b *bundle) partner(t testing.TB, p directory.Partner) {
	t.Helper()
	if p.Name == "" {
		p.Name = "Partner " + p.ID
	}
	if _, _, err := b.dir.PutPartner(b.ctx, p); err != nil {
		t.Fatal(err)
	}
}

// handoff hands a partner off as crossing 1 and fails the test on error.
func (b *bundle) handoff(t testing.TB, pid string) *Entry {
	t.Helper()
	e, _, err := b.q.Handoff(b.ctx, pid, 1, b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// queued is a partner with owner rep "owner" handed off to it.
func (b *bundle) queued(t testing.TB, pid string) *Entry {
	t.Helper()
	b.partner(t, directory.Partner{ID: pid, OwnerRepID: "owner"})
	e := b.handoff(t, pid)
	if e.RepID != "owner" {
		t.Fatalf("%s went to %q, want owner", pid, e.RepID)
	}
	return e
}

func (b *bundle) claimed(t testing.TB, pid string) *Entry {
	t.Helper()
	b.queued(t, pid)
	e, err := b.q.Claim(b.ctx, "owner", pid)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (b *bundle) capacityUsed(t testing.TB, repID string) int {
	t.Helper()
	n, err := b.rdb.SCard(b.ctx, capacityKey(repID, b.clock.Now().UTC().Format(time.DateOnly))).Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func (b *bundle) timelineLen(t testing.TB, pid string) int {
	t.Helper()
	tl, err := b.q.Timeline(b.ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	return len(tl)
}

func mustIs(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func ev(id string, typ event.Type, at time.Time, title, topic string) event.Event {
	return event.Event{ID: id, Type: typ, OccurredAt: at, Title: title, Topic: topic, Source: "test", MessageID: fmt.Sprint("m-", id)}
}
