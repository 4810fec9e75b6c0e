package metrics

import (
	"context"
	"errors"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

var (
	errNoInspector    = errors.New("metrics: QueueConfig.Inspector is required")
	errNegativeMaxAge = errors.New("metrics: QueueConfig.MaxAge must not be negative")
)

// RedisHook is a go-redis hook that counts failed Redis commands as
// longtail_redis_errors_total{op}: op is the command's name ("evalsha",
// "hgetall"...), "dial" for a connection that could not be made. Add it
// to the process's one client (AddHook) and every package using that
// client, asynq included, is covered.
//
// Not errors: redis.Nil (a missing key is an answer), a failed WATCH
// transaction (optimistic locking at work), NOSCRIPT (go-redis loads the
// script and runs it again) and the caller's own cancellation.
type RedisHook struct {
	errs *prometheus.CounterVec
}

// NewRedisHook registers the counter on reg.
func NewRedisHook(reg prometheus.Registerer) *RedisHook {
	h := &RedisHook{errs: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "longtail_redis_errors_total",
		Help: "Redis commands that failed (network, timeout, server error), by command; dial for failed connections.",
	}, []string{"op"})}
	if reg != nil {
		reg.MustRegister(h.errs)
	}
	return h
}

func countable(err error) bool {
	return err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, redis.TxFailedErr) &&
		!errors.Is(err, context.Canceled) && !redis.HasErrorPrefix(err, "NOSCRIPT")
}

// DialHook implements redis.Hook.
func (h *RedisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if countable(err) {
			h.errs.WithLabelValues("dial").Inc()
		}
		return c, err
	}
}

// ProcessHook implements redis.Hook.
func (h *RedisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if countable(err) {
			h.errs.WithLabelValues(cmd.Name()).Inc()
		}
		return err
	}
}

// ProcessPipelineHook implements redis.Hook: each failed command of a
// pipeline or transaction counts under its own name.
func (h *RedisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err != nil {
			for _, c := range cmds {
				if countable(c.Err()) {
					h.errs.WithLabelValues(c.Name()).Inc()
				}
			}
		}
		return err
	}
}
