// Package scriptrun runs Redis Lua scripts in a pipeline and recovers from
// a server that lost its script cache (a restart, a failover, SCRIPT
// FLUSH). A pipeline cannot fall back per command as redis.Script.Run
// does, so the calls the server answered NOSCRIPT are run once more after
// their scripts are loaded; the others are not repeated.
package scriptrun

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Call is one script call: Script with Keys and Args, or Cmd, a whole
// EVALSHA command the caller built itself ("evalsha", Script's SHA, the
// number of keys, keys, args), for hot paths that avoid building Keys and
// Args. Script is required either way: it is what gets loaded.
type Call struct {
	Script *redis.Script
	Keys   []string
	Args   []any
	Cmd    []any
}

// Pipelined runs calls in one round trip, and once more for those the
// server answered NOSCRIPT. It returns each call's command, to read its
// reply or error from; the error is for loading a script.
func Pipelined(ctx context.Context, rdb redis.UniversalClient, calls []Call) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(calls))
	run := make([]int, len(calls))
	for i := range run {
		run[i] = i
	}
	for attempt := 0; ; attempt++ {
		pipe := rdb.Pipeline()
		for _, i := range run {
			if c := calls[i]; c.Cmd != nil {
				cmds[i] = pipe.Do(ctx, c.Cmd...)
			} else {
				cmds[i] = c.Script.EvalSha(ctx, pipe, c.Keys, c.Args...)
			}
		}
		_, _ = pipe.Exec(ctx) // errors are read per command
		var missing []int
		for _, i := range run {
			// HasErrorPrefix allocates even for nil: most calls succeed.
			if err := cmds[i].Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 || attempt == 1 {
			return cmds, nil
		}
		loaded := map[*redis.Script]bool{}
		for _, i := range missing {
			if s := calls[i].Script; !loaded[s] {
				if err := s.Load(ctx, rdb).Err(); err != nil {
					return nil, fmt.Errorf("load script: %w", err)
				}
				loaded[s] = true
			}
		}
		run = missing
	}
}

// FirstError is the first error among cmds, or nil.
func FirstError(cmds []*redis.Cmd) error {
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}
