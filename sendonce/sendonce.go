// Package sendonce makes a send happen at most once, however often the task
// that sends it runs. Every email longtail sends goes through it: rep
// hand-off notifications and digests now, nurture steps later.
//
// # Protocol
//
// Before the message is handed over (before SMTP DATA), Mark writes a
// marker with SET-if-absent semantics, owned by a random token and valid for
// SendingTTL; only the attempt that wrote it sends. After the server's 250,
// Confirm records "sent"; when the connection broke after the whole message
// was written, Uncertain records that it may have gone; on a failure that
// surely sent nothing (refused before DATA, no connection), Release removes
// the marker, but only if this attempt still owns it, so the retry can send.
//
// # States a later Mark finds
//
//	(no marker)          never attempted, or released: the caller sends (Acquired)
//	sending, in time     another attempt is running: retry later (InFlight)
//	sending, timed out   the attempt died mid-send (a crash, Redis lost
//	                     before Confirm): see the crash policy below
//	sent                 done (Sent)
//	uncertain            may have gone: never sent again (Uncertain)
//
// # Crash policy
//
// A marker still "sending" past its SendingTTL means the attempt died after
// Mark and before Confirm, Uncertain or Release: the message may or may not
// have reached the server. The default, AbandonedIsUncertain, never sends
// it again: the marker becomes "uncertain" and Mark says Abandoned, which
// the caller counts and logs. A rep who misses one hand-off email still
// sees the partner on the queue page; a partner who gets a nurture email
// twice does not un-see it. AbandonedIsResent sends again instead, for
// messages whose loss costs more than a duplicate (the duplicate carries
// the same Message-ID, so clients that thread by it show one message).
package sendonce

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Policy is what Mark does with an attempt that died mid-send.
type Policy int

const (
	// AbandonedIsUncertain records the send as uncertain and never sends it
	// again (the default).
	AbandonedIsUncertain Policy = iota
	// AbandonedIsResent lets the caller send again.
	AbandonedIsResent
)

// Config configures a Store.
type Config struct {
	// SendingTTL is how long an attempt holds its marker: past it, the
	// attempt is taken for dead (see the crash policy). A send must end well
	// inside it; SendTimeout is half of it. If zero, 5 minutes.
	SendingTTL time.Duration
	// Retention is how long any marker is kept: it must outlive every
	// retry of the task that sends, or a late retry would send again. If
	// zero, 7 days. It must exceed SendingTTL.
	Retention time.Duration
	// Abandoned is the crash policy. The zero value is AbandonedIsUncertain.
	Abandoned Policy
	// Clock judges whether an attempt has timed out. If nil, time.Now.
	Clock func() time.Time
}

const (
	defaultSendingTTL = 5 * time.Minute
	defaultRetention  = 7 * 24 * time.Hour
	// maxIDLen bounds the id part of a key.
	maxIDLen = 512
)

// Store keeps the send markers in Redis. It is safe for concurrent use.
type Store struct {
	rdb       redis.UniversalClient
	cfg       Config
	abandoned atomic.Int64
}

// New validates cfg and returns a Store on rdb.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("sendonce: nil Redis client")
	}
	if cfg.SendingTTL < 0 || cfg.Retention < 0 {
		return nil, errors.New("sendonce: SendingTTL and Retention must not be negative")
	}
	if cfg.SendingTTL == 0 {
		cfg.SendingTTL = defaultSendingTTL
	}
	if cfg.Retention == 0 {
		cfg.Retention = defaultRetention
	}
	if cfg.Retention <= cfg.SendingTTL {
		return nil, fmt.Errorf("sendonce: Retention %s must exceed SendingTTL %s", cfg.Retention, cfg.SendingTTL)
	}
	if cfg.Abandoned != AbandonedIsUncertain && cfg.Abandoned != AbandonedIsResent {
		return nil, fmt.Errorf("sendonce: unknown Abandoned policy %d", cfg.Abandoned)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Store{rdb: rdb, cfg: cfg}, nil
}

// SendTimeout is how long a send may take: half of SendingTTL, so no send
// is still running when a later attempt may take its marker for dead.
func (s *Store) SendTimeout() time.Duration { return s.cfg.SendingTTL / 2 }

// Stats counts what the store saw since it was created.
type Stats struct {
	// Abandoned counts markers found "sending" past their SendingTTL.
	Abandoned int64
}

// Stats returns the counters.
func (s *Store) Stats() Stats { return Stats{Abandoned: s.abandoned.Load()} }

// State is what Mark found.
type State int

const (
	// Acquired: this attempt owns the send. Send, then call Confirm,
	// Uncertain or Release.
	Acquired State = iota + 1
	// Sent: an earlier attempt was confirmed. Do nothing.
	Sent
	// Uncertain: an earlier attempt may have sent it. Do not send.
	Uncertain
	// Abandoned: an earlier attempt died mid-send; under
	// AbandonedIsUncertain it is now recorded as uncertain. Do not send.
	Abandoned
	// InFlight: another attempt holds the marker and has not timed out.
	// Try again later.
	InFlight
)

func (st State) String() string {
	switch st {
	case Acquired:
		return "acquired"
	case Sent:
		return "sent"
	case Uncertain:
		return "uncertain"
	case Abandoned:
		return "abandoned"
	case InFlight:
		return "in_flight"
	}
	return "state(" + strconv.Itoa(int(st)) + ")"
}

// Mark is the marker of one send as Mark left it.
type Mark struct {
	State State
	key   string
	value string // "sending:<owner>:<deadline>", when Acquired
}

// Marker values.
const (
	sendingPrefix  = "sending:"
	valueSent      = "sent"
	valueUncertain = "uncertain"
)

// markScript writes the marker of an attempt unless another one decides.
//
// KEYS[1] the marker
// ARGV[1] this attempt's value, "sending:<owner>:<deadline ms>"
// ARGV[2] now, Unix ms (the store's clock)
// ARGV[3] Retention in ms: the PX of every marker written
// ARGV[4] "resend" takes over a timed-out attempt (AbandonedIsResent); ""
// records it as uncertain
// Output: "acquired", "sent", "uncertain", "abandoned" or "inflight". A
// "sending" value without a deadline (written before deadlines were kept
// in the value, with a Redis TTL of its own) is in flight until it expires.
var markScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if not v then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[3])
  return "acquired"
end
if v == "sent" or v == "uncertain" then
  return v
end
local deadline = tonumber(string.match(v, "^sending:[^:]*:(%d+)$"))
if deadline == nil or deadline > tonumber(ARGV[2]) then
  return "inflight"
end
if ARGV[4] == "resend" then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[3])
  return "acquired"
end
redis.call("SET", KEYS[1], "uncertain", "PX", ARGV[3])
return "abandoned"`)

// releaseScript deletes a "sending" marker only if this attempt owns it,
// so a slow attempt cannot clear the marker of one that took over.
//
// KEYS[1] the marker
// ARGV[1] the owning value ("sending:<owner>:<deadline ms>")
// Output: 1 when deleted, 0 otherwise.
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`)

// checkKey refuses a tag that is not one {hash tag} and an id that could
// move the key to another slot.
func checkKey(tag, id string) error {
	if len(tag) < 3 || tag[0] != '{' || tag[len(tag)-1] != '}' || strings.ContainsAny(tag[1:len(tag)-1], "{}") {
		return fmt.Errorf("sendonce: tag %q is not one {hash tag}", tag)
	}
	if id == "" || len(id) > maxIDLen || strings.ContainsAny(id, "{}") {
		return fmt.Errorf("sendonce: id %q must be 1 to %d bytes without braces", id, maxIDLen)
	}
	return nil
}

// Mark decides whether this attempt sends the message named id, whose
// marker lives in the slot of tag (a "{hash tag}" such as "{p:acme}").
// Only an Acquired mark may send.
func (s *Store) Mark(ctx context.Context, tag, id string) (Mark, error) {
	if err := checkKey(tag, id); err != nil {
		return Mark{}, err
	}
	now := s.cfg.Clock()
	owner := make([]byte, 8)
	_, _ = rand.Read(owner) // crypto/rand.Read never fails (Go 1.24+).
	value := sendingPrefix + hex.EncodeToString(owner) + ":" + strconv.FormatInt(now.Add(s.cfg.SendingTTL).UnixMilli(), 10)
	policy := ""
	if s.cfg.Abandoned == AbandonedIsResent {
		policy = "resend"
	}
	key := markerKey(tag, id)
	res, err := markScript.Run(ctx, s.rdb, []string{key}, value, now.UnixMilli(), s.cfg.Retention.Milliseconds(), policy).Text()
	if err != nil {
		return Mark{}, fmt.Errorf("sendonce: mark %s: %w", id, err)
	}
	m := Mark{key: key}
	switch res {
	case "acquired":
		m.State, m.value = Acquired, value
	case valueSent:
		m.State = Sent
	case valueUncertain:
		m.State = Uncertain
	case "abandoned":
		m.State = Abandoned
		s.abandoned.Add(1)
	case "inflight":
		m.State = InFlight
	default:
		return Mark{}, fmt.Errorf("sendonce: mark %s: unexpected reply %q", id, res)
	}
	return m, nil
}

// errNotAcquired is returned when Confirm, Uncertain or Release get a
// mark this attempt does not own.
var errNotAcquired = errors.New("sendonce: the mark was not acquired by this attempt")

// Confirm records that the server accepted the message. It runs on its own
// context, because the message has gone whatever happened to the caller's,
// and retries briefly: an unrecorded send is what could be sent twice.
func (s *Store) Confirm(m Mark) error { return s.settle(m, valueSent) }

// Uncertain records that the message may have gone (the connection broke
// after it was written): it is never sent again.
func (s *Store) Uncertain(m Mark) error { return s.settle(m, valueUncertain) }

func (s *Store) settle(m Mark, state string) error {
	if m.State != Acquired {
		return errNotAcquired
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	for attempt := range 3 {
		if err = s.rdb.Set(ctx, m.key, state, s.cfg.Retention).Err(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return fmt.Errorf("sendonce: record %s: %w", state, err)
}

// Release removes this attempt's marker after a failure that surely sent
// nothing, so a retry need not wait for it to time out. A marker another
// attempt has taken over is left alone.
func (s *Store) Release(m Mark) error {
	if m.State != Acquired {
		return errNotAcquired
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := releaseScript.Run(ctx, s.rdb, []string{m.key}, m.value).Err(); err != nil {
		return fmt.Errorf("sendonce: release: %w", err)
	}
	return nil
}
