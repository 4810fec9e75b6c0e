// Package repqueue is the reps' call queue: it routes a partner that
// crossed the scoring threshold to a rep, builds the queue entry (who to
// call, why, by when), runs the entry's lifecycle (claim, outcomes, SLA
// reassignment and escalation), tells nurture when a partner's contacts may
// be mailed and keeps the queue's KPIs. (The reps' API tokens are package
// reptoken.)
//
// It is a domain package: the HTTP API, the task adapters and the
// notifications sit on top of it. Every method is safe for concurrent use
// by any number of processes sharing one Redis; keys.go explains how the
// writes stay consistent on Redis Cluster.
package repqueue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/ident"
	"github.com/longtailhq/longtail/scoring"
)

// Sentinel errors; returned errors wrap them with the reason.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("forbidden")
	ErrInvalid   = errors.New("invalid")
	// ErrConflict: the entry kept changing under a transition; retry.
	ErrConflict = errors.New("conflict")
	// ErrState: the request is well formed but the entry's current state
	// refuses it (an outcome before the claim, an outcome or a claim of a
	// closed entry); retrying will not help, the message says what will.
	// It wraps ErrInvalid, so callers that only tell bad requests from
	// missing entries need not know it; the HTTP API answers it 409.
	ErrState = fmt.Errorf("%w: wrong state", ErrInvalid)
	// ErrUnassigned: Handoff refuses the unassigned pseudo-partner, which
	// is no company a rep could call. It wraps ErrInvalid, so the hand-off
	// task fails permanently (and logs why) instead of retrying.
	ErrUnassigned = fmt.Errorf("%w: the unassigned partner is never handed off", ErrInvalid)
)

// Directory is what the queue reads of the partner directory
// (*directory.Store implements it).
type Directory interface {
	GetPartner(ctx context.Context, id string) (directory.Partner, error)
	GetContact(ctx context.Context, id string) (directory.Contact, error)
	GetRep(ctx context.Context, id string) (directory.Rep, error)
	ListReps(ctx context.Context) ([]directory.Rep, error)
	// UnassignedPartnerID is the pseudo-partner of contacts of unknown
	// company (directory.unassigned_partner), never handed off.
	UnassignedPartnerID() string
}

// Scores is what the queue uses of the scoring engine (*scoring.Engine
// implements it).
type Scores interface {
	Partner(ctx context.Context, partnerID string) (*scoring.PartnerScore, error)
	Contact(ctx context.Context, partnerID, contactID string) (*scoring.ContactScore, error)
	Rearm(ctx context.Context, partnerID string) (bool, error)
}

// timelineLength caps a partner's queue timeline.
const timelineLength = 200

// casAttempts bounds the read-modify-CAS loops.
const casAttempts = 8

// Queue is the reps' call queue.
type Queue struct {
	rdb    redis.UniversalClient
	dir    Directory
	scores Scores
	cfg    Config
	hours  businessHours
	clock  func() time.Time
	// zones memoises rep time zones: time.LoadLocation reads the zoneinfo
	// database on every call.
	zones sync.Map // string → *time.Location, nil when unknown
	// obs hears hand-offs and outcomes (Observe); nil observes nothing.
	obs Observer
}

// Observer hears what the queue records, once per write that recorded
// it (a retried Handoff or RecordOutcome that changes nothing is not
// heard again), for metrics. It must be cheap and safe for concurrent use.
type Observer interface {
	// HandedOff: a hand-off was created, routed by route: RouteOwner,
	// RouteTerritory, RouteRoundRobin, RouteUnrouted, or "retry" when the
	// rep a crashed earlier attempt reserved took it (its rule unknown).
	HandedOff(route string)
	// OutcomeRecorded: a rep recorded an outcome of kind (Outcomes()).
	OutcomeRecorded(kind string)
}

// RouteUnrouted is the route of a hand-off no rep could take, as an
// Observer hears it.
const RouteUnrouted = "unrouted"

// Observe sets the queue's Observer. Call it once, before the queue is
// used: it is wiring, not a runtime switch (repqueue.Config is read from
// YAML and holds no interfaces).
func (q *Queue) Observe(o Observer) { q.obs = o }

// New validates cfg, fills in its defaults and returns a queue. clock is
// the time source for due dates, SLAs, callbacks and cooldowns; nil means
// time.Now.
func New(rdb redis.UniversalClient, dir Directory, scores Scores, cfg Config, clock func() time.Time) (*Queue, error) {
	if rdb == nil || dir == nil || scores == nil {
		return nil, errors.New("repqueue: nil redis client, directory or scores")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("repqueue: config: %w", err)
	}
	if clock == nil {
		clock = time.Now
	}
	cfg = cfg.withDefaults()
	hours, err := newBusinessHours(cfg.BusinessHours)
	if err != nil {
		return nil, fmt.Errorf("repqueue: config: handoff.business_hours: %w", err)
	}
	return &Queue{rdb: rdb, dir: dir, scores: scores, cfg: cfg, hours: hours, clock: clock}, nil
}

// Config returns the queue's configuration with defaults filled in.
func (q *Queue) Config() Config { return q.cfg }

// now is the clock in UTC at the millisecond resolution of stored times.
func (q *Queue) now() time.Time { return time.UnixMilli(q.clock().UnixMilli()).UTC() }

// repHours are the business hours in the rep's zone (Attrs["timezone"]),
// else in the configured zone.
func (q *Queue) repHours(r *directory.Rep) businessHours {
	if r == nil || r.Attrs["timezone"] == "" {
		return q.hours
	}
	name := r.Attrs["timezone"]
	if v, ok := q.zones.Load(name); ok {
		if loc, _ := v.(*time.Location); loc != nil {
			return q.hours.in(loc)
		}
		return q.hours
	}
	loc, err := loadZone(name)
	if err != nil {
		q.zones.Store(name, (*time.Location)(nil))
		return q.hours
	}
	q.zones.Store(name, loc)
	return q.hours.in(loc)
}

// checkID applies the one id rule (package ident) to an id that goes
// into a key.
func checkID(field, id string) error {
	if err := ident.Check(field, id); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// readEntry returns the partner's entry and its raw hash, or nil.
func (q *Queue) readEntry(ctx context.Context, pid string) (*Entry, map[string]string, error) {
	h, err := q.rdb.HGetAll(ctx, entryKey(pid)).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("repqueue: read entry of %s: %w", pid, err)
	}
	e, ok, err := decodeEntry(pid, h)
	if err != nil || !ok {
		return nil, nil, err
	}
	return e, h, nil
}

// Get returns the partner's current entry (open or closed), or
// ErrNotFound.
func (q *Queue) Get(ctx context.Context, partnerID string) (*Entry, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return nil, err
	}
	e, _, err := q.readEntry(ctx, partnerID)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fmt.Errorf("%w: no handoff for partner %q", ErrNotFound, partnerID)
	}
	return e, nil
}

// cas applies entry (and nurture) field changes to e if its version is
// still the one read, with a timeline item. It returns the entry as
// changed, or nil when the version moved.
func (q *Queue) cas(ctx context.Context, e *Entry, raw map[string]string, ef, nf fields, tl *Transition) (*Entry, error) {
	item := ""
	if tl != nil {
		b, err := json.Marshal(tl)
		if err != nil {
			return nil, err
		}
		item = string(b)
	}
	args := make([]any, 0, 4+len(ef)+len(nf))
	args = append(args, e.Version, item, timelineLength, len(ef)/2)
	for _, s := range ef {
		args = append(args, s)
	}
	for _, s := range nf {
		args = append(args, s)
	}
	n, err := casScript.Run(ctx, q.rdb, []string{entryKey(e.PartnerID), timelineKey(e.PartnerID), nurtureKey(e.PartnerID)}, args...).Int()
	if err != nil {
		return nil, fmt.Errorf("repqueue: update entry of %s: %w", e.PartnerID, err)
	}
	if n == 0 {
		return nil, nil
	}
	next := make(map[string]string, len(raw)+len(ef)/2)
	for k, v := range raw {
		next[k] = v
	}
	for i := 0; i+1 < len(ef); i += 2 {
		if ef[i+1] == "" {
			delete(next, ef[i])
		} else {
			next[ef[i]] = ef[i+1]
		}
	}
	next[fVer] = fmt.Sprint(e.Version + 1)
	out, _, err := decodeEntry(e.PartnerID, next)
	return out, err
}

// readEntries reads the entries of partner ids in one round trip, skipping
// missing ones.
func (q *Queue) readEntries(ctx context.Context, pids []string) ([]*Entry, error) {
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(pids))
	for i, pid := range pids {
		cmds[i] = pipe.HGetAll(ctx, entryKey(pid))
	}
	if len(pids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("repqueue: read entries: %w", err)
		}
	}
	out := make([]*Entry, 0, len(pids))
	for i, c := range cmds {
		e, ok, err := decodeEntry(pids[i], c.Val())
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// byPriority orders entries by score (highest first), then due date, then
// partner id.
func byPriority(a, b Entry) int {
	if c := cmp.Compare(b.Score, a.Score); c != 0 {
		return c
	}
	if c := a.DueAt.Compare(b.DueAt); c != 0 {
		return c
	}
	return cmp.Compare(a.PartnerID, b.PartnerID)
}

// List returns the rep's open entries that may be worked now (queued or
// claimed, available), highest priority first: score descending, then due
// date. Entries waiting for a callback time or a no_answer retry are left
// out until then (see Scheduled).
func (q *Queue) List(ctx context.Context, repID string) ([]Entry, error) {
	return q.listRep(ctx, repID, "-inf", ms(q.now()))
}

// Scheduled returns the rep's open entries that become available later
// (callbacks, no_answer retries), soonest first.
func (q *Queue) Scheduled(ctx context.Context, repID string) ([]Entry, error) {
	out, err := q.listRep(ctx, repID, "("+ms(q.now()), "+inf")
	slices.SortFunc(out, func(a, b Entry) int {
		if c := a.AvailableAt.Compare(b.AvailableAt); c != 0 {
			return c
		}
		return cmp.Compare(a.PartnerID, b.PartnerID)
	})
	return out, err
}

func (q *Queue) listRep(ctx context.Context, repID, minScore, maxScore string) ([]Entry, error) {
	if err := checkID("rep_id", repID); err != nil {
		return nil, err
	}
	pids, err := q.rdb.ZRangeByScore(ctx, repQueueKey(repID), &redis.ZRangeBy{Min: minScore, Max: maxScore}).Result()
	if err != nil {
		return nil, fmt.Errorf("repqueue: list queue of %s: %w", repID, err)
	}
	es, err := q.readEntries(ctx, pids)
	if err != nil {
		return nil, err
	}
	now := q.now()
	out := make([]Entry, 0, len(es))
	for _, e := range es {
		// The index may hold members a crash or a lost race left behind;
		// the entry decides.
		if e.RepID != repID || !e.Open() {
			continue
		}
		if avail := !e.AvailableAt.After(now); avail != (maxScore == "+inf") {
			out = append(out, *e)
		}
	}
	slices.SortFunc(out, byPriority)
	return out, nil
}

// ListUnrouted returns the open entries no rep could take, highest
// priority first: what ops must route (Assign) or what the sweep routes
// once capacity frees up.
func (q *Queue) ListUnrouted(ctx context.Context) ([]Entry, error) {
	return q.listIndex(ctx, unroutedKey, func(e *Entry) bool { return e.RepID == "" && e.Open() })
}

// ListEscalated returns the open entries escalated after SLA breaches.
func (q *Queue) ListEscalated(ctx context.Context) ([]Entry, error) {
	return q.listIndex(ctx, escalatedKey, func(e *Entry) bool { return e.Escalated && e.Open() })
}

func (q *Queue) listIndex(ctx context.Context, key string, keep func(*Entry) bool) ([]Entry, error) {
	pids, err := q.rdb.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("repqueue: list %s: %w", key, err)
	}
	es, err := q.readEntries(ctx, pids)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(es))
	for _, e := range es {
		if keep(e) {
			out = append(out, *e)
		}
	}
	slices.SortFunc(out, byPriority)
	return out, nil
}

// Timeline returns the partner's queue history, newest first (the last
// 200 transitions).
func (q *Queue) Timeline(ctx context.Context, partnerID string) ([]Transition, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return nil, err
	}
	items, err := q.rdb.LRange(ctx, timelineKey(partnerID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("repqueue: timeline of %s: %w", partnerID, err)
	}
	return decodeTimeline(partnerID, items)
}

// Timelines reads the timeline of each of partnerIDs, in their order, in
// one pipelined round trip (a few hundred partners at a time): Timeline
// for runs over every partner.
func (q *Queue) Timelines(ctx context.Context, partnerIDs []string) ([][]Transition, error) {
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(partnerIDs))
	for i, pid := range partnerIDs {
		if err := checkID("partner_id", pid); err != nil {
			return nil, err
		}
		cmds[i] = pipe.LRange(ctx, timelineKey(pid), 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("repqueue: timelines: %w", err)
	}
	out := make([][]Transition, len(partnerIDs))
	for i, c := range cmds {
		var err error
		if out[i], err = decodeTimeline(partnerIDs[i], c.Val()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decodeTimeline(partnerID string, items []string) ([]Transition, error) {
	out := make([]Transition, len(items))
	for i, s := range items {
		if err := json.Unmarshal([]byte(s), &out[i]); err != nil {
			return nil, fmt.Errorf("repqueue: timeline of %s: %w", partnerID, err)
		}
	}
	return out, nil
}

// Nurture reasons returned by MayMail.
const (
	HoldInCallQueue = "in_call_queue"
	HoldNotAFit     = "not_a_fit"
)

// MayMail tells the nurture engine whether a contact of the partner may be
// mailed now. It may not while the partner is queued or claimed (reason
// "in_call_queue"), after a not_a_fit outcome ("not_a_fit", until
// ResumeNurture) and during a not_now cooldown ("cooldown until
// <RFC 3339 time>"). Consent and suppression are the nurture engine's to
// check besides.
func (q *Queue) MayMail(ctx context.Context, partnerID, contactID string) (bool, string, error) {
	if err := checkID("partner_id", partnerID); err != nil {
		return false, "", err
	}
	if err := checkID("contact_id", contactID); err != nil {
		return false, "", err
	}
	pipe := q.rdb.Pipeline()
	st := pipe.HGet(ctx, entryKey(partnerID), fState)
	n := pipe.HGetAll(ctx, nurtureKey(partnerID))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return false, "", fmt.Errorf("repqueue: may mail %s: %w", partnerID, err)
	}
	ok, why := q.mayMail(st.Val(), n.Val())
	return ok, why, nil
}

// mayMail decides MayMail from the partner's entry state and nurture hash.
func (q *Queue) mayMail(state string, n map[string]string) (bool, string) {
	if state == StateQueued || state == StateClaimed {
		return false, HoldInCallQueue
	}
	if n[nStop] != "" {
		return false, n[nStop]
	}
	if u := n[nUntil]; u != "" {
		if until := fromMS(u); until.After(q.now()) {
			return false, "cooldown until " + until.Format(time.RFC3339)
		}
	}
	return true, ""
}

// Nurture hash fields.
const (
	nUntil = "until"
	nStop  = "stop"
)

// ResumeNurture lifts a not_a_fit stop and any cooldown of the partner
// (an open entry still pauses nurture).
func (q *Queue) ResumeNurture(ctx context.Context, partnerID string) error {
	if err := checkID("partner_id", partnerID); err != nil {
		return err
	}
	if err := q.rdb.Del(ctx, nurtureKey(partnerID)).Err(); err != nil {
		return fmt.Errorf("repqueue: resume nurture of %s: %w", partnerID, err)
	}
	return nil
}
