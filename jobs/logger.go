package jobs

import (
	"fmt"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"
)

// Logger adapts zerolog to asynq's logger so every line asynq writes is
// zerolog JSON like the rest of the process.
func Logger(l zerolog.Logger) asynq.Logger { return zlog{l.With().Str("component", "asynq").Logger()} }

type zlog struct{ l zerolog.Logger }

func (z zlog) Debug(args ...any) { z.l.Debug().Msg(fmt.Sprint(args...)) }
func (z zlog) Info(args ...any)  { z.l.Info().Msg(fmt.Sprint(args...)) }
func (z zlog) Warn(args ...any)  { z.l.Warn().Msg(fmt.Sprint(args...)) }
func (z zlog) Error(args ...any) {
	msg := fmt.Sprint(args...)
	// asynq tries to close the Redis client on shutdown and complains that
	// it is shared; sharing it is deliberate (one pool for state and tasks).
	if strings.Contains(msg, "connection is shared") {
		z.l.Debug().Msg(msg)
		return
	}
	z.l.Error().Msg(msg)
}

// Fatal is called by asynq only on unrecoverable start-up failures; it
// logs at fatal level, which exits, matching asynq's contract.
func (z zlog) Fatal(args ...any) { z.l.Fatal().Msg(fmt.Sprint(args...)) }
