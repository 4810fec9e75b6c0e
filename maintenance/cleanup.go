package maintenance

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/nurture"
)

// Enrollments ends a partner's enrollments that can never finish well;
// *nurture.Engine implements it.
type Enrollments interface {
	CleanupPartner(ctx context.Context, pid string, staleAfter time.Duration) ([]nurture.Ended, error)
}

// CleanupConfig configures Cleanup.
type CleanupConfig struct {
	// StaleAfter is nurture.stale_after. If zero, nurture.DefaultStaleAfter.
	StaleAfter time.Duration
	// Batch is how many partners one page of the walk holds. If zero,
	// DefaultBatch.
	Batch int
}

// CleanupResult is what one run ended.
type CleanupResult struct {
	Partners int `json:"partners"`
	// Ended counts the enrollments this run ended, by reason.
	Ended   map[string]int `json:"ended"`
	Resumed bool           `json:"resumed"`
}

// Cleanup ends stale enrollments across every partner.
type Cleanup struct {
	cfg  CleanupConfig
	enr  Enrollments
	walk walker
}

// NewCleanup validates its arguments.
func NewCleanup(rdb redis.UniversalClient, partners Partners, enr Enrollments, cfg CleanupConfig) (*Cleanup, error) {
	if rdb == nil || partners == nil || enr == nil {
		return nil, errors.New("maintenance: the enrollment cleanup needs Redis, the partners and the nurture engine")
	}
	if cfg.StaleAfter < 0 || cfg.Batch < 0 {
		return nil, errors.New("maintenance: cleanup stale_after and batch must not be negative")
	}
	if cfg.StaleAfter == 0 {
		cfg.StaleAfter = nurture.DefaultStaleAfter
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	return &Cleanup{cfg: cfg, enr: enr, walk: walker{rdb: rdb, partners: partners, job: "enrollment_cleanup", batch: int64(cfg.Batch)}}, nil
}

// Run walks every partner once and ends what can never finish; ended,
// if set, hears each enrollment this run ended (to remove its pending
// step from the queue). An error stops the run with its cursor saved:
// the retry resumes there.
func (c *Cleanup) Run(ctx context.Context, ended func(context.Context, nurture.Ended) error) (CleanupResult, error) {
	res := CleanupResult{Ended: map[string]int{}}
	resumed, err := c.walk.walk(ctx, func(ctx context.Context, ids []string) error {
		for _, pid := range ids {
			res.Partners++
			out, err := c.enr.CleanupPartner(ctx, pid, c.cfg.StaleAfter)
			for _, en := range out {
				res.Ended[en.Reason]++
				if ended != nil {
					if herr := ended(ctx, en); herr != nil {
						err = errors.Join(err, herr)
					}
				}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	res.Resumed = resumed
	return res, err
}
