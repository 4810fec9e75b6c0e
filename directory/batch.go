package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Batch writes many records in a fixed number of pipelined round trips per
// call, for bulk loads such as a CSV import (package csvimport). Each
// record is an idempotent upsert, as PutPartner, PutRep and PutContact
// are, with the same crash-safety order (package comment), so after a
// Redis failure the same calls can simply run again.
//
// A Batch remembers, between calls, which partners exist and which time
// zones are known, so use one per bulk load. It is not safe for concurrent
// use.
type Batch struct {
	s *Store
	// partners holds ids known to exist; only hits are kept, so a partner
	// created while the load runs is found by a later call.
	partners map[string]bool
	// tz spares time.LoadLocation, which reads zoneinfo on every call.
	tz map[string]error
}

// NewBatch starts a bulk load.
func (s *Store) NewBatch() *Batch {
	return &Batch{s: s, partners: map[string]bool{s.cfg.UnassignedPartnerID: true}, tz: map[string]error{}}
}

func (b *Batch) checkTZ(name string) error {
	if err, ok := b.tz[name]; ok {
		return err
	}
	err := loadTZ(name)
	b.tz[name] = err
	return err
}

// PutResult is what a batch did with one item.
type PutResult struct {
	// Err is why the item was refused, when it was: its message is fit to
	// show beside the item (a FieldError, an unknown partner, an address
	// another contact holds). Refused items change nothing.
	Err error
	// Unchanged is set for a stored item that was already exactly so.
	Unchanged bool
	// Change is, from PutPartners, what the write did to a partner it
	// changed (nil when Err or Unchanged): whoever follows up on a
	// partner's facts reads it.
	Change *PartnerChange
}

// rowError is a refusal whose message stands alone ("unknown partner
// \"x\"") while errors.Is still finds the sentinel.
type rowError struct {
	msg  string
	kind error
}

func (e *rowError) Error() string { return e.msg }
func (e *rowError) Unwrap() error { return e.kind }

// PartnerPut is one partner of a batch.
type PartnerPut struct {
	ID string
	// Merge returns the partner to store from the stored one (found says
	// whether there was one): a bulk load sets the fields it has and keeps
	// the others. The result is validated; its ID is ID.
	Merge func(stored Partner, found bool) (Partner, error)
}

// RepPut is one rep of a batch.
type RepPut struct {
	ID string
	// Merge is as PartnerPut's.
	Merge func(stored Rep, found bool) (Rep, error)
}

// PutPartners upserts partners in three round trips: read the stored
// records, upsert those that differ, add every id to the partner set (last,
// so a listed id always has a record). Results are in input order.
func (b *Batch) PutPartners(ctx context.Context, items []PartnerPut) ([]PutResult, error) {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return putSimple(ctx, b.s, ids, partnerKey, partnersKey, decodePartner, func(i int, base Partner, found bool) (string, error) {
		p, err := items[i].Merge(base, found)
		if err != nil {
			return "", err
		}
		p.ID = ids[i]
		if err := p.validate(b.checkTZ); err != nil {
			return "", err
		}
		return p.body(), nil
	}, func(r *PutResult, id string, u upsertResult) error {
		c, err := partnerChange(id, u.prev, u.value)
		r.Change = &c
		return err
	})
}

// PutReps upserts reps as PutPartners does partners.
func (b *Batch) PutReps(ctx context.Context, items []RepPut) ([]PutResult, error) {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return putSimple(ctx, b.s, ids, repKey, repsKey, decodeRep, func(i int, base Rep, found bool) (string, error) {
		r, err := items[i].Merge(base, found)
		if err != nil {
			return "", err
		}
		r.ID = ids[i]
		if err := r.validate(); err != nil {
			return "", err
		}
		return r.body(), nil
	}, nil)
}

// putSimple writes records with one key and one global set each: partners
// and reps. build merges item i into the stored record (found) or a zero
// one, validates it and returns the body to store. written, if set, is
// told of each item the upsert changed, with what the script replaced.
func putSimple[T any](ctx context.Context, s *Store, ids []string, key func(string) string, set string,
	decode func(id, v string) (T, error), build func(i int, base T, found bool) (string, error),
	written func(r *PutResult, id string, u upsertResult) error) ([]PutResult, error) {
	out := make([]PutResult, len(ids))
	for i, id := range ids {
		if err := checkID("id", id, true); err != nil {
			out[i].Err = err
		}
	}
	pipe := s.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		if out[i].Err == nil {
			gets[i] = pipe.Get(ctx, key(id))
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	now := s.now()
	var calls []upsertCall
	var called []int
	var members []any
	for i, id := range ids {
		if out[i].Err != nil {
			continue
		}
		old, err := gets[i].Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		var base T
		found := false
		if old != "" {
			if b, err := decode(id, old); err == nil {
				base, found = b, true
			}
		}
		body, err := build(i, base, found)
		if err != nil {
			out[i].Err = err
			continue
		}
		members = append(members, id)
		if st, err := parseStored(old); found && err == nil && st.body == body {
			out[i].Unchanged = true
			continue
		}
		calls = append(calls, newUpsert(key(id), "", body, now, "", "", false))
		called = append(called, i)
	}
	res, err := s.upsertAll(ctx, calls)
	if err != nil {
		return nil, err
	}
	for j, r := range res {
		i := called[j]
		switch {
		case r.status == statusUnchanged:
			out[i].Unchanged = true // written identically by someone else meanwhile
		case written != nil:
			if err := written(&out[i], ids[i], r); err != nil {
				return nil, err
			}
		}
	}
	if len(members) > 0 {
		// SADD of present members changes nothing, and re-adding every id
		// repairs a set left short by a crash after the record write.
		if err := s.rdb.SAdd(ctx, set, members...).Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ContactPut is one contact of a batch.
type ContactPut struct {
	// Email is the contact's address, normalised (CheckEmail).
	Email string
	// ID names the contact; if empty, the contact that has Email, else
	// ContactIDFor(Email).
	ID string
	// PartnerID is the contact's partner, which must exist. If empty, the
	// contact stays with its partner when KeepPartner is set (a new one
	// goes to the unassigned partner), else it goes to the unassigned
	// partner.
	PartnerID   string
	KeepPartner bool
	// Resolved, if set, is called with the contact's id once it is known
	// and before anything is written; an error refuses the item (a CSV
	// import refuses an id that two rows of a file resolve to).
	Resolved func(id string) error
	// Merge returns the contact to store from the stored one (found says
	// whether there was one); ID, PartnerID and Email are then set as
	// resolved, and the result is validated.
	Merge func(stored Contact, found bool) Contact
}

// contactPut is a ContactPut as it goes through PutContacts.
type contactPut struct {
	in          *ContactPut
	res         *PutResult
	cid, oldPID string
	target      string
	owner       holder
	c           Contact
	claim       bool
	setEmail    bool
	setCID      bool
}

// PutContacts upserts contacts in a fixed number of pipelined round trips,
// following the steps of the package comment: read the indexes and whether
// the partners exist, read the stored records, claim the addresses nobody
// had, write the records, write the indexes. The rare items that move to
// another partner, change address or name an address held by another
// contact go through PutContact one by one. Results are in input order.
func (b *Batch) PutContacts(ctx context.Context, items []ContactPut) ([]PutResult, error) {
	s := b.s
	rdb := s.rdb
	unassigned := s.cfg.UnassignedPartnerID
	out := make([]PutResult, len(items))
	rows := make([]*contactPut, 0, len(items))
	for i := range items {
		it := &items[i]
		err := checkID("id", it.ID, false)
		if err == nil {
			err = checkID("partner_id", it.PartnerID, false)
		}
		// The full check of the address comes with the contact's
		// validation (round 2); here only what the keys of round 1 need.
		if err == nil && (it.Email == "" || it.Email != strings.ToLower(strings.TrimSpace(it.Email))) {
			err = invalid("email", "%q is not a normalised address (CheckEmail)", it.Email)
		}
		if err != nil {
			out[i].Err = err
			continue
		}
		rows = append(rows, &contactPut{in: it, res: &out[i]})
	}

	// Round 1: who owns each address, where each id lives, which partners
	// exist.
	pipe := rdb.Pipeline()
	ownerCmds := make([]*redis.StringCmd, len(rows))
	cidCmds := make([]*redis.StringCmd, len(rows))
	partnerCmds := map[string]*redis.IntCmd{}
	for i, r := range rows {
		ownerCmds[i] = pipe.Get(ctx, emailKey(r.in.Email))
		id := r.in.ID
		if id == "" {
			id = ContactIDFor(r.in.Email)
		}
		cidCmds[i] = pipe.Get(ctx, contactIDKey(id))
		if pid := r.in.PartnerID; pid != "" && !b.partners[pid] && partnerCmds[pid] == nil {
			partnerCmds[pid] = pipe.Exists(ctx, partnerKey(pid))
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	for pid, cmd := range partnerCmds {
		if cmd.Val() == 1 {
			b.partners[pid] = true
		}
	}
	live := rows[:0]
	var slow []*contactPut
	for i, r := range rows {
		ownerRaw, err := valOrEmpty(ownerCmds[i])
		if err != nil {
			return nil, err
		}
		idxPID, err := valOrEmpty(cidCmds[i])
		if err != nil {
			return nil, err
		}
		r.owner, _ = parseHolder(ownerRaw)
		r.cid = r.in.ID
		if r.cid == "" {
			r.cid = ContactIDFor(r.in.Email)
			if r.owner.cid != "" {
				r.cid = r.owner.cid
				idxPID = r.owner.pid // the id index read above was for the derived id
			}
		}
		if r.in.Resolved != nil {
			if err := r.in.Resolved(r.cid); err != nil {
				r.res.Err = err
				continue
			}
		}
		r.oldPID = idxPID
		switch {
		case r.in.PartnerID != "":
			r.target = r.in.PartnerID
		case r.in.KeepPartner && r.oldPID != "":
			r.target = r.oldPID
		default:
			r.target = unassigned
		}
		// A contact staying where it is needs no check of its partner.
		if !b.partners[r.target] && r.target != r.oldPID {
			r.res.Err = &rowError{msg: fmt.Sprintf("unknown partner %q", r.target), kind: ErrNotFound}
			continue
		}
		live = append(live, r)
	}

	// Round 2: the stored records, to merge the item into and compare.
	pipe = rdb.Pipeline()
	oldCmds := make([]*redis.StringCmd, len(live))
	for i, r := range live {
		if r.oldPID != "" {
			oldCmds[i] = pipe.Get(ctx, contactKey(r.oldPID, r.cid))
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	var fast []*contactPut
	needUnassigned := false
	for i, r := range live {
		var old string
		if oldCmds[i] != nil {
			v, err := valOrEmpty(oldCmds[i])
			if err != nil {
				return nil, err
			}
			old = v
		}
		var base Contact
		var st stored
		found := false
		if old != "" {
			if c, err := decodeContact(r.oldPID, r.cid, old); err == nil {
				base, found = c, true
				st, _ = parseStored(old)
			}
		}
		c := r.in.Merge(base, found)
		c.ID, c.PartnerID, c.Email = r.cid, r.target, r.in.Email
		if err := c.validate(b.checkTZ); err != nil {
			r.res.Err = err
			continue
		}
		r.c = c
		// Another contact holds the address: PutContact decides whether
		// that is a conflict or a crash's leftover.
		viaPut := r.owner.cid != "" && r.owner.cid != r.cid
		if viaPut || (r.oldPID != "" && r.oldPID != r.target) || (found && base.Email != r.in.Email) {
			slow = append(slow, r)
			continue
		}
		want := encodeHolder(r.target, r.cid)
		r.claim = r.owner.cid == ""
		r.setEmail = !r.claim && encodeHolder(r.owner.pid, r.owner.cid) != want
		r.setCID = r.oldPID != r.target
		if !r.claim && !r.setEmail && !r.setCID && found && st.body == c.body() {
			r.res.Unchanged = true
			continue
		}
		if r.target == unassigned {
			needUnassigned = true
		}
		fast = append(fast, r)
	}
	if needUnassigned {
		if err := s.ensureUnassigned(ctx); err != nil {
			return nil, err
		}
	}

	// Round 3: claim the addresses nobody had.
	pipe = rdb.Pipeline()
	claims := make([]*redis.StatusCmd, len(fast))
	for i, r := range fast {
		if r.claim {
			claims[i] = pipe.SetArgs(ctx, emailKey(r.in.Email), encodeHolder(r.target, r.cid), redis.SetArgs{Mode: "NX", Get: true})
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	claimed := fast[:0]
	for i, r := range fast {
		if claims[i] != nil {
			prev, err := valOrEmpty(claims[i])
			if err != nil {
				return nil, err
			}
			if prev != "" {
				// Someone took the address between round 1 and now.
				h, _ := parseHolder(prev)
				if h.cid != r.cid {
					r.res.Err = &rowError{msg: fmt.Sprintf("email already belongs to contact %q", h.cid), kind: ErrConflict}
					continue
				}
				r.setEmail = prev != encodeHolder(r.target, r.cid)
			}
		}
		claimed = append(claimed, r)
	}
	fast = claimed

	// Round 4: the records, each with its partner's contact set.
	now := s.now()
	calls := make([]upsertCall, len(fast))
	for i, r := range fast {
		calls[i] = newUpsert(contactKey(r.target, r.cid), partnerContactsKey(r.target), r.c.body(), now, "", r.cid, false)
	}
	res, err := s.upsertAll(ctx, calls)
	if err != nil {
		return nil, err
	}

	// Round 5: the indexes, last.
	pipe = rdb.Pipeline()
	for i, r := range fast {
		if r.setEmail {
			pipe.Set(ctx, emailKey(r.in.Email), encodeHolder(r.target, r.cid), 0)
		}
		if r.setCID {
			pipe.Set(ctx, contactIDKey(r.cid), r.target, 0)
		}
		if res[i].status == statusUnchanged && !r.claim && !r.setEmail && !r.setCID {
			r.res.Unchanged = true
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
	}

	for _, r := range slow {
		_, changed, err := s.putContact(ctx, r.c)
		switch {
		case errors.Is(err, ErrInvalid), errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
			r.res.Err = err
		case err != nil:
			return nil, err
		default:
			r.res.Unchanged = !changed
		}
	}
	return out, nil
}

func valOrEmpty(cmd interface{ Result() (string, error) }) (string, error) {
	v, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

// CheckEmail normalises an address for a contact (trimmed, lower-cased,
// a bare addr-spec) or says why it cannot be one, as a FieldError for
// "email".
func CheckEmail(v string) (string, error) { return checkEmail("email", v) }
