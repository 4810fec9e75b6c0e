package repqueue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/redis/go-redis/v9"
)

// capacityTTL keeps a day's capacity set a little past the day in any zone.
const capacityTTL = 3 * 24 * time.Hour

// candidate is a rep routing may try, with its remaining capacity today.
type candidate struct {
	rep  directory.Rep
	step string
	day  string
	left int
}

// router gathers what one routing decision reads, once.
type router struct {
	q       *Queue
	p       directory.Partner
	now     time.Time
	exclude map[string]bool
	reps    []directory.Rep // all reps, loaded on first need
	loaded  bool
}

// eligible reports whether a rep may take a handoff now, capacity aside:
// active, not out of office, with a capacity, not excluded.
func (r *router) eligible(rep *directory.Rep) bool {
	if !rep.Active || rep.DailyCapacity <= 0 || r.exclude[rep.ID] {
		return false
	}
	return rep.OutOfOfficeUntil == nil || !rep.OutOfOfficeUntil.After(r.now)
}

func (r *router) allReps(ctx context.Context) ([]directory.Rep, error) {
	if !r.loaded {
		reps, err := r.q.dir.ListReps(ctx)
		if err != nil {
			return nil, fmt.Errorf("repqueue: route: %w", err)
		}
		r.reps, r.loaded = reps, true
	}
	return r.reps, nil
}

// territory returns the pool of the first territory matching the partner.
func (r *router) territory() (Territory, bool) {
	match := func(vals []string, v string) bool {
		if len(vals) == 0 {
			return true
		}
		for _, x := range vals {
			if strings.EqualFold(strings.TrimSpace(x), v) {
				return true
			}
		}
		return false
	}
	for _, t := range r.q.cfg.Territories {
		if match(t.Regions, r.p.Region) && match(t.Countries, r.p.Country) && match(t.PartnerTypes, r.p.Type) {
			return t, true
		}
	}
	return Territory{}, false
}

// coversRegion: a rep with regions takes round-robin partners of those
// regions only; a rep without, or a partner without a region, any.
func coversRegion(rep *directory.Rep, region string) bool {
	if len(rep.Regions) == 0 || region == "" {
		return true
	}
	for _, x := range rep.Regions {
		if strings.EqualFold(x, region) {
			return true
		}
	}
	return false
}

// candidates lists the reps to try, in order: the configured steps, and
// within the territory and round-robin steps the reps with the most
// capacity left first, so that successive handoffs spread over the pool
// in proportion to what each rep can still take (weighted round robin).
// Ties are broken by a hash of partner and rep, so equal reps take turns
// across partners. Each rep appears once.
func (r *router) candidates(ctx context.Context) ([]candidate, error) {
	var out []candidate
	seen := map[string]bool{}
	for _, step := range r.q.cfg.Routing {
		var pool []directory.Rep
		switch step {
		case RouteOwner:
			if r.p.OwnerRepID == "" || r.exclude[r.p.OwnerRepID] {
				continue
			}
			rep, err := r.q.dir.GetRep(ctx, r.p.OwnerRepID)
			if errors.Is(err, directory.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("repqueue: route: %w", err)
			}
			pool = []directory.Rep{rep}
		case RouteTerritory:
			t, ok := r.territory()
			if !ok {
				continue
			}
			all, err := r.allReps(ctx)
			if err != nil {
				return nil, err
			}
			for _, rep := range all {
				if slices.Contains(t.Reps, rep.ID) {
					pool = append(pool, rep)
				}
			}
		case RouteRoundRobin:
			all, err := r.allReps(ctx)
			if err != nil {
				return nil, err
			}
			for _, rep := range all {
				if coversRegion(&rep, r.p.Region) {
					pool = append(pool, rep)
				}
			}
		}
		var batch []candidate
		for _, rep := range pool {
			if seen[rep.ID] || !r.eligible(&rep) {
				continue
			}
			seen[rep.ID] = true
			batch = append(batch, candidate{rep: rep, step: step, day: r.q.localDay(&rep, r.now)})
		}
		if err := r.q.remaining(ctx, batch); err != nil {
			return nil, err
		}
		batch = slices.DeleteFunc(batch, func(c candidate) bool { return c.left <= 0 })
		slices.SortFunc(batch, func(a, b candidate) int {
			if c := cmp.Compare(b.left, a.left); c != 0 {
				return c
			}
			return cmp.Compare(tieBreak(r.p.ID, a.rep.ID), tieBreak(r.p.ID, b.rep.ID))
		})
		out = append(out, batch...)
	}
	return out, nil
}

func tieBreak(pid, repID string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(pid + "\x00" + repID))
	return h.Sum32()
}

// localDay is the rep's calendar day at t, in the rep's zone: daily
// capacity resets at the rep's midnight.
func (q *Queue) localDay(rep *directory.Rep, t time.Time) string {
	return t.In(q.repHours(rep).loc).Format(time.DateOnly)
}

// remaining fills in each candidate's capacity left today, in one round
// trip.
func (q *Queue) remaining(ctx context.Context, cs []candidate) error {
	if len(cs) == 0 {
		return nil
	}
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(cs))
	for i, c := range cs {
		cmds[i] = pipe.SCard(ctx, capacityKey(c.rep.ID, c.day))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("repqueue: read capacity: %w", err)
	}
	for i := range cs {
		cs[i].left = cs[i].rep.DailyCapacity - int(cmds[i].Val())
	}
	return nil
}

// reserve takes one of the rep's slots of the day for resID.
func (q *Queue) reserve(ctx context.Context, c candidate, resID string) (bool, error) {
	n, err := reserveScript.Run(ctx, q.rdb, []string{capacityKey(c.rep.ID, c.day)},
		resID, c.rep.DailyCapacity, int(capacityTTL/time.Second)).Int()
	if err != nil {
		return false, fmt.Errorf("repqueue: reserve capacity of %s: %w", c.rep.ID, err)
	}
	return n == 1, nil
}

// release gives a reservation back (a lost race, a failed CAS).
func (q *Queue) release(ctx context.Context, c candidate, resID string) error {
	if err := q.rdb.SRem(ctx, capacityKey(c.rep.ID, c.day), resID).Err(); err != nil {
		return fmt.Errorf("repqueue: release capacity of %s: %w", c.rep.ID, err)
	}
	return nil
}

// route picks and reserves a rep for resID: the preferred rep first (the
// one a crashed attempt of the same handoff reserved), then the
// candidates in order, skipping any that filled up meanwhile. before runs
// ahead of each reservation attempt. It returns nil when no rep can take
// the partner.
func (q *Queue) route(ctx context.Context, p directory.Partner, exclude map[string]bool, resID, prefer string,
	before func(repID string) error) (*candidate, error) {
	r := &router{q: q, p: p, now: q.now(), exclude: exclude}
	if prefer != "" && !exclude[prefer] {
		// The earlier attempt's reservation counts against the rep, so
		// the rep is tried before the capacity filter sees it as full.
		rep, err := q.dir.GetRep(ctx, prefer)
		switch {
		case errors.Is(err, directory.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("repqueue: route: %w", err)
		default:
			c := candidate{rep: rep, step: "retry", day: q.localDay(&rep, r.now)}
			if r.eligible(&rep) {
				ok, err := q.reserve(ctx, c, resID)
				if err != nil {
					return nil, err
				}
				if ok {
					return &c, nil
				}
			} else if err := q.release(ctx, c, resID); err != nil {
				return nil, err
			}
		}
	}
	cs, err := r.candidates(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if before != nil {
			if err := before(c.rep.ID); err != nil {
				return nil, err
			}
		}
		ok, err := q.reserve(ctx, c, resID)
		if err != nil {
			return nil, err
		}
		if ok {
			return &c, nil
		}
	}
	return nil, nil
}
