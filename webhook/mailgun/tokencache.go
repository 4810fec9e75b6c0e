package mailgun

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisTokenCache keeps one key per token with the token's TTL, so Redis
// expires tokens by itself.
type redisTokenCache struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisTokenCache returns a TokenCache storing each token under
// prefix+token. The prefix keeps the keys apart from everything else in the
// database (e.g. "longtail:webhook:mailgun:token:").
func NewRedisTokenCache(rdb redis.UniversalClient, prefix string) TokenCache {
	return &redisTokenCache{rdb: rdb, prefix: prefix}
}

func (c *redisTokenCache) Seen(ctx context.Context, token string) (bool, error) {
	n, err := c.rdb.Exists(ctx, c.prefix+token).Result()
	return n > 0, err
}

// Remember uses SET NX so a token already remembered keeps its first expiry:
// two racing deliveries cannot extend each other's window.
func (c *redisTokenCache) Remember(ctx context.Context, token string, ttl time.Duration) error {
	if ttl <= 0 {
		// SET without an expiry would keep the token forever.
		return fmt.Errorf("mailgun: token TTL must be positive, got %s", ttl)
	}
	return c.rdb.SetNX(ctx, c.prefix+token, 1, ttl).Err()
}
