package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// Directory is what gathering reads of the directory (*directory.Store).
type Directory interface {
	GetPartner(ctx context.Context, id string) (directory.Partner, error)
	GetPartners(ctx context.Context, ids []string) ([]directory.Partner, []bool, error)
	PartnerIDs(ctx context.Context) iter.Seq2[string, error]
	UnassignedPartnerID() string
}

// Scores reads partners' decayed scores and RFM (*scoring.Engine).
type Scores interface {
	PartnerSummaries(ctx context.Context, partnerIDs []string) ([]scoring.PartnerSummary, error)
}

// Outcomes reads partners' hand-off histories (*repqueue.Queue).
type Outcomes interface {
	Timelines(ctx context.Context, partnerIDs []string) ([][]repqueue.Transition, error)
}

// Deps are where Facts come from besides this package's own keys.
type Deps struct {
	Directory Directory
	Scores    Scores
	Outcomes  Outcomes
	// Clock dates the nightly snapshot. If nil, time.Now.
	Clock func() time.Time
}

// ErrNotFound is returned by Facts for a partner the directory does not
// know; it wraps directory.ErrNotFound.
var ErrNotFound = directory.ErrNotFound

func (s *Store) checkDeps() error {
	if s.deps.Directory == nil || s.deps.Scores == nil || s.deps.Outcomes == nil {
		return errors.New("program/store: Deps.Directory, Scores and Outcomes are required to gather facts")
	}
	return nil
}

// Facts gathers one partner's facts at now: its directory record (tier,
// joined_at, left_at), its results log (deal.registered as deals;
// purchase and deal.won as revenue), its months with engagement and the
// last one, its score now and the snapshots of 30 and 90 days before
// now, its hand-off outcomes and its RFM segment.
//
// Its stage last recorded and timeline of stages (RecordStage), and its
// "let go" state (MoveLetGo) are read with them.
func (s *Store) Facts(ctx context.Context, partnerID string, now time.Time) (program.Facts, error) {
	if err := s.checkDeps(); err != nil {
		return program.Facts{}, err
	}
	p, err := s.deps.Directory.GetPartner(ctx, partnerID)
	if err != nil {
		return program.Facts{}, err
	}
	out, err := s.gather(ctx, []directory.Partner{p}, now)
	if err != nil {
		return program.Facts{}, err
	}
	return out[0], nil
}

// AllFacts gathers the facts of every partner of the directory but the
// unassigned one (no company), a chunk at a time: the directory records,
// this package's keys, the scores and the outcomes of a chunk each in one
// pipelined round trip (the run is bound by round trips, not by Redis).
func (s *Store) AllFacts(ctx context.Context, now time.Time) ([]program.Facts, error) {
	if err := s.checkDeps(); err != nil {
		return nil, err
	}
	var out []program.Facts
	var ids []string
	flush := func() error {
		ps, found, err := s.deps.Directory.GetPartners(ctx, ids)
		if err != nil {
			return err
		}
		// A partner not found was removed while we iterate.
		kept := ps[:0]
		for i, p := range ps {
			if found[i] {
				kept = append(kept, p)
			}
		}
		fs, err := s.gather(ctx, kept, now)
		out = append(out, fs...)
		ids = ids[:0]
		return err
	}
	for id, err := range s.deps.Directory.PartnerIDs(ctx) {
		if err != nil {
			return nil, err
		}
		if id == s.deps.Directory.UnassignedPartnerID() {
			continue
		}
		if ids = append(ids, id); len(ids) == chunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// SnapshotAll records today's score of every partner of the directory
// but the unassigned one (the program:snapshot task, nightly). Running it
// twice a day overwrites the day's snapshot. It returns how many partners
// it recorded.
func (s *Store) SnapshotAll(ctx context.Context) (int, error) {
	if err := s.checkDeps(); err != nil {
		return 0, err
	}
	clock := s.deps.Clock
	if clock == nil {
		clock = time.Now
	}
	now := clock()
	var ids []string
	n := 0
	flush := func() error {
		sums, err := s.deps.Scores.PartnerSummaries(ctx, ids)
		if err != nil {
			return err
		}
		scores := make(map[string]float64, len(ids))
		for i, id := range ids {
			scores[id] = sums[i].Score
		}
		if err := s.Snapshot(ctx, now, scores); err != nil {
			return err
		}
		n += len(scores)
		ids = ids[:0]
		return nil
	}
	for id, err := range s.deps.Directory.PartnerIDs(ctx) {
		if err != nil {
			return n, err
		}
		if id == s.deps.Directory.UnassignedPartnerID() {
			continue
		}
		if ids = append(ids, id); len(ids) == chunk {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := flush(); err != nil {
		return n, err
	}
	return n, nil
}

// gather reads this package's keys of the partners in one pipeline, then
// their scores and outcomes.
func (s *Store) gather(ctx context.Context, ps []directory.Partner, now time.Time) ([]program.Facts, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	res := make([]*redis.MapStringStringCmd, len(ps))
	eng := make([]*redis.ZSliceCmd, len(ps))
	snap := make([]*redis.StringCmd, len(ps))
	stage := make([]*redis.StringCmd, len(ps))
	changes := make([]*redis.StringSliceCmd, len(ps))
	letgo := make([]*redis.MapStringStringCmd, len(ps))
	for i, p := range ps {
		res[i] = pipe.HGetAll(ctx, resultsKey(p.ID))
		eng[i] = pipe.ZRangeWithScores(ctx, engagedKey(p.ID), 0, -1)
		snap[i] = pipe.Get(ctx, snapshotKey(p.ID))
		stage[i] = pipe.Get(ctx, stageKey(p.ID))
		changes[i] = pipe.LRange(ctx, stagesKey(p.ID), 0, -1)
		letgo[i] = pipe.HGetAll(ctx, letGoKey(p.ID))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("program/store: read facts: %w", err)
	}
	today := dayIndex(now)
	out := make([]program.Facts, len(ps))
	for i, p := range ps {
		f := program.Facts{PartnerID: p.ID, Tier: p.Tier, JoinedAt: p.Joined(), LeftAt: p.Left()}
		for _, v := range res[i].Val() {
			kind, at, value, origin, err := parseResult(v)
			if err != nil {
				return nil, fmt.Errorf("partner %s: %w", p.ID, err)
			}
			r := program.Result{At: at, Value: value, Origin: program.Origin(origin)}
			if kind == kindDeal {
				f.Deals = append(f.Deals, r)
			} else {
				f.Purchases = append(f.Purchases, r)
			}
		}
		for _, z := range eng[i].Val() {
			at := time.UnixMilli(int64(z.Score)).UTC()
			f.EngagedMonths = append(f.EngagedMonths, at)
			if at.After(f.LastEngagedAt) {
				f.LastEngagedAt = at
			}
		}
		ring := snap[i].Val()
		f.Score30, f.Score90 = snapshotOn(ring, today-30), snapshotOn(ring, today-90)
		var err error
		if f.LastStage, f.LastStageAt, err = parseStageRecord(stage[i].Val()); err != nil {
			return nil, fmt.Errorf("partner %s: %w", p.ID, err)
		}
		for _, v := range changes[i].Val() {
			c, err := parseStageChange(v)
			if err != nil {
				return nil, fmt.Errorf("partner %s: %w", p.ID, err)
			}
			f.StageChanges = append(f.StageChanges, c)
		}
		lg, err := parseLetGo(letgo[i].Val())
		if err != nil {
			return nil, fmt.Errorf("partner %s: %w", p.ID, err)
		}
		lg.apply(&f)
		out[i] = f
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	sums, err := s.deps.Scores.PartnerSummaries(ctx, ids)
	if err != nil {
		return nil, err
	}
	tls, err := s.deps.Outcomes.Timelines(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		f := &out[i]
		f.Score = sums[i].Score
		if sums[i].RFM != nil {
			f.Segment = sums[i].RFM.Segment
		}
		for _, t := range tls[i] {
			if t.Kind == repqueue.KindOutcome && t.Outcome != "" {
				f.Outcomes = append(f.Outcomes, program.Outcome{At: t.At, Kind: t.Outcome})
			}
		}
	}
	return out, nil
}
