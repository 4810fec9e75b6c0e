package csvimport

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// fixture is one test's directory on its own Redis database.
type fixture struct {
	ctx   context.Context
	rdb   *redis.Client
	clock *testclock.Clock
	store *directory.Store
}

func setup(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{ctx: context.Background(), rdb: redistest.New(t), clock: testclock.New(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))}
	f.fresh(t)
	return f
}

// fresh replaces the store with a new one on the same database.
func (f *fixture) fresh(t testing.TB) {
	t.Helper()
	s, err := directory.New(f.rdb, directory.Config{Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.store = s
}

// snapshot returns every key of the database with its DUMP, to prove that
// an import changed nothing at all.
func (f *fixture) snapshot(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	keys := f.keys(t)
	pipe := f.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Dump(f.ctx, k)
	}
	if len(keys) > 0 {
		if _, err := pipe.Exec(f.ctx); err != nil {
			t.Fatal(err)
		}
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

func (f *fixture) putPartner(t testing.TB, id string) {
	t.Helper()
	if _, _, err := f.store.PutPartner(f.ctx, directory.Partner{ID: id, Name: "Partner " + id}); err != nil {
		t.Fatal(err)
	}
}

// checkFieldErr asserts err is a directory.FieldError for field wrapping
// directory.ErrInvalid.
func checkFieldErr(t *testing.T, err error, field string) {
	t.Helper()
	var fe *directory.FieldError
	if !errors.As(err, &fe) || !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("error = %v, want a FieldError wrapping ErrInvalid", err)
	}
	if fe.Field != field {
		t.Fatalf("error names field %q (%v), want %q", fe.Field, err, field)
	}
}

func TestParseKind(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Kind{"partners": KindPartners, " Contacts ": KindContacts, "REPS": KindReps} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseKind("deals"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("ParseKind(deals) error = %v, want ErrInvalid", err)
	}
}
