package sendonce_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/sendonce"
)

func TestMain(m *testing.M) { redistest.Main(m) }

var t0 = time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)

const (
	tag = "{p:acme}"
	id  = "notify:rep:acme:1"
	// key is the layout rep notifications have always used.
	key = "lt:{p:acme}:notify:notify:rep:acme:1"
)

type bundle struct {
	ctx   context.Context
	rdb   *redis.Client
	clock *testclock.Clock
	s     *sendonce.Store
}

func setup(t *testing.T, cfg sendonce.Config) *bundle {
	t.Helper()
	rdb := redistest.New(t)
	clk := testclock.New(t0)
	cfg.Clock = clk.Now
	s, err := sendonce.New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{ctx: context.Background(), rdb: rdb, clock: clk, s: s}
}

func (b *bundle) mark(t *testing.T) sendonce.Mark {
	t.Helper()
	m, err := b.s.Mark(b.ctx, tag, id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (b *bundle) value(t *testing.T) string {
	t.Helper()
	v, err := b.rdb.Get(b.ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMarkThenSettle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		settle func(*sendonce.Store, sendonce.Mark) error
		// want is the marker afterwards and what the next Mark finds.
		want     string
		wantNext sendonce.State
	}{
		{"confirmed", (*sendonce.Store).Confirm, "sent", sendonce.Sent},
		{"uncertain", (*sendonce.Store).Uncertain, "uncertain", sendonce.Uncertain},
		{"released", (*sendonce.Store).Release, "", sendonce.Acquired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, sendonce.Config{})
			m := b.mark(t)
			if m.State != sendonce.Acquired {
				t.Fatalf("first Mark = %s, want acquired", m.State)
			}
			if v := b.value(t); !strings.HasPrefix(v, "sending:") {
				t.Fatalf("marker while sending = %q", v)
			}
			if again := b.mark(t); again.State != sendonce.InFlight {
				t.Fatalf("second Mark while the first attempt sends = %s, want in_flight", again.State)
			}
			if err := tt.settle(b.s, m); err != nil {
				t.Fatal(err)
			}
			if v := b.value(t); v != tt.want {
				t.Errorf("marker = %q, want %q", v, tt.want)
			}
			if next := b.mark(t); next.State != tt.wantNext {
				t.Errorf("next Mark = %s, want %s", next.State, tt.wantNext)
			}
			if tt.want != "" {
				if ttl := b.rdb.TTL(b.ctx, key).Val(); ttl < 6*24*time.Hour {
					t.Errorf("marker TTL %s, want the 7-day retention", ttl)
				}
			}
		})
	}
}

func TestAbandonedAttempt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		policy     sendonce.Policy
		want       sendonce.State
		wantMarker string // prefix
		abandoned  int64
	}{
		{sendonce.AbandonedIsUncertain, sendonce.Abandoned, "uncertain", 1},
		{sendonce.AbandonedIsResent, sendonce.Acquired, "sending:", 0},
	}
	for _, tt := range tests {
		t.Run(tt.want.String(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, sendonce.Config{SendingTTL: time.Minute, Abandoned: tt.policy})
			dead := b.mark(t) // an attempt that dies before settling
			if dead.State != sendonce.Acquired {
				t.Fatal(dead.State)
			}
			b.clock.Advance(time.Minute - time.Millisecond)
			if m := b.mark(t); m.State != sendonce.InFlight {
				t.Fatalf("Mark just inside the TTL = %s, want in_flight", m.State)
			}
			b.clock.Advance(2 * time.Millisecond)
			m := b.mark(t)
			if m.State != tt.want {
				t.Fatalf("Mark past the TTL = %s, want %s", m.State, tt.want)
			}
			if v := b.value(t); !strings.HasPrefix(v, tt.wantMarker) {
				t.Errorf("marker = %q, want %s…", v, tt.wantMarker)
			}
			if got := b.s.Stats().Abandoned; got != tt.abandoned {
				t.Errorf("Stats().Abandoned = %d, want %d", got, tt.abandoned)
			}
			// The dead attempt coming back cannot clear what followed it.
			if err := b.s.Release(dead); err != nil {
				t.Fatal(err)
			}
			if v := b.value(t); !strings.HasPrefix(v, tt.wantMarker) {
				t.Errorf("after the stale Release: marker = %q, want %s…", v, tt.wantMarker)
			}
			// Counted once: the next Mark finds the settled state.
			next := b.mark(t)
			if tt.policy == sendonce.AbandonedIsUncertain && next.State != sendonce.Uncertain {
				t.Errorf("Mark after abandoning = %s, want uncertain", next.State)
			}
			if tt.policy == sendonce.AbandonedIsResent && next.State != sendonce.InFlight {
				t.Errorf("Mark while the resend runs = %s, want in_flight", next.State)
			}
		})
	}
}

func TestMarkerWithoutDeadlineWaitsForItsTTL(t *testing.T) {
	t.Parallel()
	b := setup(t, sendonce.Config{})
	// As written before deadlines were kept in the value.
	if err := b.rdb.Set(b.ctx, key, "sending:0123456789abcdef", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(30 * 24 * time.Hour)
	if m := b.mark(t); m.State != sendonce.InFlight {
		t.Errorf("Mark on a legacy sending marker = %s, want in_flight", m.State)
	}
	if err := b.rdb.Del(b.ctx, key).Err(); err != nil { // its Redis TTL ran out
		t.Fatal(err)
	}
	if m := b.mark(t); m.State != sendonce.Acquired {
		t.Errorf("Mark after it expired = %s, want acquired", m.State)
	}
}

func TestSettleNeedsAnAcquiredMark(t *testing.T) {
	t.Parallel()
	b := setup(t, sendonce.Config{})
	first := b.mark(t)
	second := b.mark(t)
	for name, f := range map[string]func(sendonce.Mark) error{"Confirm": b.s.Confirm, "Uncertain": b.s.Uncertain, "Release": b.s.Release} {
		if err := f(second); err == nil {
			t.Errorf("%s of an in-flight mark succeeded", name)
		}
	}
	if v := b.value(t); !strings.HasPrefix(v, "sending:") {
		t.Errorf("marker = %q: a refused settle changed it", v)
	}
	if err := b.s.Confirm(first); err != nil {
		t.Fatal(err)
	}
}

func TestBadKeysAndConfig(t *testing.T) {
	t.Parallel()
	b := setup(t, sendonce.Config{})
	for _, k := range [][2]string{{"p:acme", id}, {"{p:acme", id}, {"{}", id}, {"{a}{b}", id}, {tag, ""}, {tag, "x{y}"}, {tag, strings.Repeat("x", 513)}} {
		if _, err := b.s.Mark(b.ctx, k[0], k[1]); err == nil {
			t.Errorf("Mark(%q, %q) succeeded", k[0], k[1])
		}
	}
	if keys := b.rdb.Keys(b.ctx, "*").Val(); len(keys) != 0 {
		t.Errorf("refused marks wrote %v", keys)
	}
	for _, cfg := range []sendonce.Config{
		{SendingTTL: -1},
		{Retention: -1},
		{SendingTTL: time.Hour, Retention: time.Hour},
		{Abandoned: 7},
	} {
		if _, err := sendonce.New(b.rdb, cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := sendonce.New(nil, sendonce.Config{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	s, err := sendonce.New(b.rdb, sendonce.Config{})
	if err != nil || s.SendTimeout() != 150*time.Second {
		t.Errorf("defaults: %v, SendTimeout %s, want 2m30s", err, s.SendTimeout())
	}
}

func TestRedisDownIsAnError(t *testing.T) {
	t.Parallel()
	rs := redistest.StartServer(t)
	rdb := redis.NewClient(rs.Options())
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := sendonce.New(rdb, sendonce.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rs.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if m, err := s.Mark(ctx, tag, id); err == nil {
		t.Fatalf("Mark with Redis down = %s, want an error", m.State)
	}
}
