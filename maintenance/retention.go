package maintenance

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultTimeline is retention.timeline when unset.
const DefaultTimeline = 180 * 24 * time.Hour

// RetentionConfig configures Retention.
type RetentionConfig struct {
	// Timeline is how long timeline entries are kept: a contact's scored
	// events, a partner's call-queue transitions, an enrollment's history.
	// If zero, DefaultTimeline (180 days).
	Timeline time.Duration
	// Batch is how many partners one page of the walk holds. If zero,
	// DefaultBatch.
	Batch int
	// Clock; if nil, time.Now.
	Clock func() time.Time
}

// ScoringPruner prunes a partner's scoring state; *scoring.Engine
// implements it. Dedup records (seen event ids and the other markers)
// are dropped by CompactIdle only once expired, by scoring's own
// dedup_retention and message_retention: never inside the replay window.
type ScoringPruner interface {
	PruneTimelines(ctx context.Context, partnerID string, cutoff time.Time) (int, error)
	CompactIdle(ctx context.Context, partnerID string) (int, error)
}

// QueuePruner prunes a partner's call-queue timeline; *repqueue.Queue
// implements it.
type QueuePruner interface {
	PruneTimeline(ctx context.Context, partnerID string, cutoff time.Time) (int, error)
}

// HistoryPruner prunes the histories of a partner's enrollments;
// *nurture.Store implements it.
type HistoryPruner interface {
	PruneHistories(ctx context.Context, partnerID string, cutoff time.Time) (int, error)
}

// RetentionDeps are what Retention prunes. Partners, Scoring and Queue
// are required; Histories may be nil (nurture off).
type RetentionDeps struct {
	Partners  Partners
	Scoring   ScoringPruner
	Queue     QueuePruner
	Histories HistoryPruner
}

// RetentionResult is what one run removed.
type RetentionResult struct {
	// Partners is how many partner ids the run looked at.
	Partners int `json:"partners"`
	// ContactTimeline counts contact timeline batches removed.
	ContactTimeline int `json:"contact_timeline"`
	// QueueTimeline counts call-queue transitions removed.
	QueueTimeline int `json:"queue_timeline"`
	// Histories counts enrollment history items removed.
	Histories int `json:"histories"`
	// Compacted counts contact strings compacted (expired dedup records
	// dropped).
	Compacted int `json:"compacted"`
	// Resumed: the run continued a walk a previous run left part way.
	Resumed bool `json:"resumed"`
}

// Retention removes what is past retention across every partner.
type Retention struct {
	cfg  RetentionConfig
	deps RetentionDeps
	walk walker
}

// NewRetention validates cfg and deps.
func NewRetention(rdb redis.UniversalClient, cfg RetentionConfig, deps RetentionDeps) (*Retention, error) {
	if rdb == nil || deps.Partners == nil || deps.Scoring == nil || deps.Queue == nil {
		return nil, errors.New("maintenance: retention needs Redis, the partners, scoring and the call queue")
	}
	if cfg.Timeline < 0 || cfg.Batch < 0 {
		return nil, errors.New("maintenance: retention timeline and batch must not be negative")
	}
	if cfg.Timeline == 0 {
		cfg.Timeline = DefaultTimeline
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Retention{cfg: cfg, deps: deps, walk: walker{rdb: rdb, partners: deps.Partners, job: "retention", batch: int64(cfg.Batch)}}, nil
}

// Run walks every partner once and prunes it. An error stops the run
// with its cursor saved: the retry resumes there.
func (r *Retention) Run(ctx context.Context) (RetentionResult, error) {
	var res RetentionResult
	cutoff := r.cfg.Clock().Add(-r.cfg.Timeline)
	resumed, err := r.walk.walk(ctx, func(ctx context.Context, ids []string) error {
		for _, pid := range ids {
			res.Partners++
			n, err := r.deps.Scoring.PruneTimelines(ctx, pid, cutoff)
			res.ContactTimeline += n
			if err != nil {
				return err
			}
			if n, err = r.deps.Scoring.CompactIdle(ctx, pid); err != nil {
				return err
			}
			res.Compacted += n
			n, err = r.deps.Queue.PruneTimeline(ctx, pid, cutoff)
			res.QueueTimeline += n
			if err != nil {
				return err
			}
			if r.deps.Histories != nil {
				n, err = r.deps.Histories.PruneHistories(ctx, pid, cutoff)
				res.Histories += n
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	res.Resumed = resumed
	return res, err
}
