package redistest_test

import (
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func redistestClient(s *redistest.Server) *redis.Client { return redis.NewClient(s.Options()) }
