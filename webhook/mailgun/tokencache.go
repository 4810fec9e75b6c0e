package mailgun

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisTokenCache keeps one key per claimed token (keys.go) with the
// token's TTL, so Redis expires tokens by itself.
type redisTokenCache struct {
	rdb redis.UniversalClient
}

// NewRedisTokenCache returns a TokenCache on rdb.
func NewRedisTokenCache(rdb redis.UniversalClient) TokenCache {
	return &redisTokenCache{rdb: rdb}
}

// Claim is one SET NX: of any number of deliveries racing with the same
// token, exactly one sets the key, and a claim keeps its first expiry.
func (c *redisTokenCache) Claim(ctx context.Context, token, id string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		// SET without an expiry would keep the token forever.
		return false, fmt.Errorf("mailgun: token TTL must be positive, got %s", ttl)
	}
	err := c.rdb.SetArgs(ctx, tokenKey(token), id, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// releaseScript deletes a claimed token only while the claim is still the
// caller's, so a late release never frees another delivery's claim.
//
// KEYS[1] tokenKey(token)
// ARGV[1] the claim id
// Returns 1 when the claim was deleted, 0 when the key held another id or
// none.
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0
`)

func (c *redisTokenCache) Release(ctx context.Context, token, id string) error {
	return releaseScript.Run(ctx, c.rdb, []string{tokenKey(token)}, id).Err()
}
