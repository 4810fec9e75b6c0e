package scriptrun_test

import (
	"context"
	"strings"
	"testing"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/scriptrun"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestPipelinedAfterScriptFlush: calls built either way run, also after
// the server lost its scripts, and each runs once.
func TestPipelinedAfterScriptFlush(t *testing.T) {
	t.Parallel()
	// A private server: SCRIPT FLUSH would hit other tests' scripts.
	rdb := redis.NewClient(redistest.StartServer(t).Options())
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	incr := redis.NewScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)
	echo := redis.NewScript(`return ARGV[1]`)
	calls := []scriptrun.Call{
		{Script: incr, Keys: []string{"n"}, Args: []any{2}},
		{Script: echo, Cmd: []any{"evalsha", echo.Hash(), 0, "hi"}},
		{Script: incr, Keys: []string{"n"}, Args: []any{3}},
	}
	for round := 1; round <= 2; round++ {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		cmds, err := scriptrun.Pipelined(ctx, rdb, calls)
		if err != nil {
			t.Fatal(err)
		}
		if err := scriptrun.FirstError(cmds); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if n, _ := cmds[2].Int64(); n != int64(5*round) {
			t.Errorf("round %d: counter %d, want %d (each call once)", round, n, 5*round)
		}
		if s, _ := cmds[1].Text(); s != "hi" {
			t.Errorf("round %d: echo %q", round, s)
		}
	}
	// An error other than NOSCRIPT is the call's own.
	bad := redis.NewScript(`return redis.error_reply('nope')`)
	cmds, err := scriptrun.Pipelined(ctx, rdb, []scriptrun.Call{{Script: bad}})
	if err != nil || scriptrun.FirstError(cmds) == nil || !strings.Contains(scriptrun.FirstError(cmds).Error(), "nope") {
		t.Errorf("error reply: %v, %v", err, scriptrun.FirstError(cmds))
	}
}
