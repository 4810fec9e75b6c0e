package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/config"
	"github.com/longtailhq/longtail/internal/redact"
	"github.com/longtailhq/longtail/redisconn"
)

const defaultConfigFile = "longtail.yaml"

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// configFlag registers --config on fs.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "YAML configuration file (default ./"+defaultConfigFile+" when present)")
}

func loadConfig(path string, environ []string) (*config.Config, error) {
	explicit := path != ""
	if !explicit {
		path = defaultConfigFile
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, "LONGTAIL_CONFIG="); ok && v != "" {
				path, explicit = v, true
			}
		}
	}
	return config.Load(path, explicit, environ)
}

// newLogger writes through redact.Writer: no email address reaches a line
// above debug level, whichever package logged it.
func newLogger(cfg config.Log, w io.Writer) zerolog.Logger {
	lvl, _ := zerolog.ParseLevel(cfg.Level) // validated at load
	if cfg.Format == "console" {
		// Colour only for a person at a terminal: escape codes in a file,
		// a pipe or journald are noise that breaks grep.
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: !isTerminal(w)}
	}
	return zerolog.New(redact.NewWriter(w)).Level(lvl).With().Timestamp().Logger()
}

// logEffectiveConfig logs every key once at start, secrets masked.
func logEffectiveConfig(log zerolog.Logger, cfg *config.Config) {
	m := cfg.Masked()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := zerolog.Dict()
	for _, k := range keys {
		d = d.Interface(k, m[k])
	}
	log.Info().Dict("config", d).Msg("effective configuration")
}

// store is the Redis the process runs on, embedded or real.
type store struct {
	rdb      redis.UniversalClient
	kind     redisconn.Kind
	embedded *redisconn.EmbeddedServer
}

func (s *store) Close() {
	_ = s.rdb.Close()
	if s.embedded != nil {
		s.embedded.Close()
	}
}

// openStore connects to redis.url, or starts the embedded Redis when none
// is configured (allowEmbedded) and says loudly that nothing persists.
func openStore(ctx context.Context, cfg *config.Config, log zerolog.Logger, allowEmbedded bool) (*store, error) {
	if cfg.Redis.URL == "" {
		if !allowEmbedded {
			return nil, fmt.Errorf("redis.url is not set (LONGTAIL_REDIS_URL); this command needs the Redis that `longtail serve` uses")
		}
		emb, err := redisconn.StartEmbedded(0)
		if err != nil {
			return nil, err
		}
		log.Warn().Str("addr", emb.Addr()).Msg("NO REDIS CONFIGURED: running on an embedded in-process Redis. NOTHING IS PERSISTED: every score, contact and queued task is lost when this process stops. Set redis.url (LONGTAIL_REDIS_URL) for real use.")
		fmt.Fprintln(os.Stderr, "longtail: WARNING: embedded in-process Redis, nothing is persisted (set LONGTAIL_REDIS_URL)")
		return &store{rdb: emb.Client(), kind: redisconn.Embedded, embedded: emb}, nil
	}
	rdb, kind, err := redisconn.Open(cfg.Redis.URL)
	if err != nil {
		return nil, err
	}
	if err := redisconn.Ping(ctx, rdb, 5*time.Second); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis (%s) does not answer: %w", kind, err)
	}
	checkRedisPolicy(ctx, rdb, log)
	return &store{rdb: rdb, kind: kind}, nil
}

// checkRedisPolicy warns when Redis may evict keys or lose writes: scores
// and queued tasks silently vanishing is worse than an error.
func checkRedisPolicy(ctx context.Context, rdb redis.UniversalClient, log zerolog.Logger) {
	if v, err := rdb.ConfigGet(ctx, "maxmemory-policy").Result(); err == nil {
		if p := v["maxmemory-policy"]; p != "" && p != "noeviction" {
			log.Warn().Str("maxmemory-policy", p).Msg("Redis may evict keys; production needs maxmemory-policy noeviction")
		}
	}
	if v, err := rdb.ConfigGet(ctx, "appendonly").Result(); err == nil {
		if p := v["appendonly"]; p == "no" {
			log.Warn().Msg("Redis AOF is off; production needs appendonly yes")
		}
	}
}

// openTool is how an operator command starts: the configuration (file
// and environment), its logger on stderr, and the configured Redis (a
// tool never starts the embedded one: it would find nothing there).
func openTool(ctx context.Context, cfgPath string, environ []string, stderr io.Writer) (*config.Config, zerolog.Logger, *store, error) {
	cfg, err := loadConfig(cfgPath, environ)
	if err != nil {
		return nil, zerolog.Logger{}, nil, err
	}
	log := newLogger(cfg.Log, stderr)
	st, err := openStore(ctx, cfg, log, false)
	if err != nil {
		return nil, zerolog.Logger{}, nil, err
	}
	return cfg, log, st, nil
}
