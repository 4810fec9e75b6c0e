package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned by Get for an id the outbox does not hold
// (never captured, or pushed out by newer messages).
var ErrNotFound = errors.New("outbox: no such message")

// DefaultCapacity is how many messages the outbox keeps when
// StoreConfig.Capacity is zero.
const DefaultCapacity = 1000

// StoreConfig configures a Store.
type StoreConfig struct {
	// Capacity is how many messages are kept, newest first; the oldest
	// is dropped when a new one arrives. If zero, 1000. It must not be
	// negative.
	Capacity int
}

// Store keeps captured messages in Redis, so every process of a
// deployment (the worker that sends, the api that shows /ui/outbox) sees
// the same outbox. It is safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
	cap int
}

// NewStore validates cfg and returns a Store on rdb.
func NewStore(rdb redis.UniversalClient, cfg StoreConfig) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("outbox: nil redis client")
	}
	if cfg.Capacity < 0 {
		return nil, fmt.Errorf("outbox: capacity %d is negative", cfg.Capacity)
	}
	if cfg.Capacity == 0 {
		cfg.Capacity = DefaultCapacity
	}
	return &Store{rdb: rdb, cap: cfg.Capacity}, nil
}

// captureScript stores one message and trims the outbox to its capacity.
//
// KEYS[1] seqKey, KEYS[2] idsKey
// ARGV[1] the message as JSON (without its id, which is the key's
// suffix), ARGV[2] capacity, ARGV[3] msgKeyPrefix
// Returns the new message's id.
//
// The message keys are built inside the script from ARGV[3]: the id is
// only known here. They share KEYS' {outbox} hash tag, so they are on the
// same Cluster slot.
var captureScript = redis.NewScript(`
local id = redis.call('INCR', KEYS[1])
redis.call('SET', ARGV[3] .. id, ARGV[1])
redis.call('LPUSH', KEYS[2], id)
local cap = tonumber(ARGV[2])
while redis.call('LLEN', KEYS[2]) > cap do
  local old = redis.call('RPOP', KEYS[2])
  redis.call('DEL', ARGV[3] .. old)
end
return tostring(id)
`)

// Save stores m (its ID is assigned here and returned).
func (s *Store) Save(ctx context.Context, m Message) (string, error) {
	m.ID = ""
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("outbox: encode message: %w", err)
	}
	id, err := captureScript.Run(ctx, s.rdb, []string{seqKey(), idsKey()}, b, s.cap, msgKeyPrefix()).Text()
	if err != nil {
		return "", fmt.Errorf("outbox: save message: %w", err)
	}
	return id, nil
}

// List returns up to limit messages, newest first, without their bodies.
// A limit of zero or less, or above the capacity, means the capacity.
func (s *Store) List(ctx context.Context, limit int) ([]Message, error) {
	if limit <= 0 || limit > s.cap {
		limit = s.cap
	}
	ids, err := s.rdb.LRange(ctx, idsKey(), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("outbox: list: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = msgKey(id)
	}
	// One MGET: the keys share a slot.
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("outbox: list: %w", err)
	}
	out := make([]Message, 0, len(vals))
	for i, v := range vals {
		str, ok := v.(string)
		if !ok { // trimmed between LRANGE and MGET
			continue
		}
		var m Message
		if err := json.Unmarshal([]byte(str), &m); err != nil {
			return nil, fmt.Errorf("outbox: decode message: %w", err)
		}
		m.ID = ids[i]
		m.Text, m.HTML, m.Headers = "", "", nil
		out = append(out, m)
	}
	return out, nil
}

// Get returns one message whole.
func (s *Store) Get(ctx context.Context, id string) (*Message, error) {
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return nil, ErrNotFound
	}
	b, err := s.rdb.Get(ctx, msgKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: get %s: %w", id, err)
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("outbox: decode message %s: %w", id, err)
	}
	m.ID = id
	return &m, nil
}
