// Package directory stores partners, contacts and reps in Redis; bulk loads
// (package csvimport) go through Batch.
//
// # Layout and crash safety
//
// Each record is one Redis string (see codec.go) under a key from keys.go.
// A contact lives in its partner's slot, next to the partner's contact set,
// and is found through two global indexes: email → "<pid> <cid>" and
// contact id → partner id. On Redis Cluster these keys sit in different
// slots, so a write cannot be one MULTI; the store orders its steps so a
// crash between any two of them leaves nothing a reader would take for a
// half-written row:
//
//  1. claim the email (SET NX on the email index), so two writers can never
//     both own an address;
//  2. write the record, and add it to the partner's contact set, in one
//     script (one slot);
//  3. point the indexes at the record;
//  4. clean up: delete the record left under the old partner after a move,
//     release the old address after an email change.
//
// Readers go through the indexes and check what they find: an index entry
// whose record is missing, or whose record no longer has that email, reads
// as not found. So a crash after step 1 or 2 shows either the old contact
// or none, never a mix, and putting the same contact again repairs every
// index. An email entry whose contact's record does not carry the address
// (a writer between steps 1 and 2, or a crash there) holds the address
// against other writers for a short grace period and is then released as
// a leftover (liveOwner), so a crash never blocks an address for good.
//
// During a move the contact is listed in both partners' contact sets from
// step 2 until step 4; ContactsOfPartner may show it under both then.
//
// Partner and rep records come first and their membership of the global
// partner / rep set last, for the same reason.
package directory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel errors. Validation errors wrap ErrInvalid (see FieldError).
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid")
)

// DefaultUnassignedPartnerID is the partner that holds contacts of unknown
// company (DESIGN.md: an unknown email becomes a contact of "unassigned").
const DefaultUnassignedPartnerID = "unassigned"

// Config configures a Store.
type Config struct {
	// UnassignedPartnerID is the partner that new contacts without a
	// partner are filed under. Its record is created on first use.
	// If empty, DefaultUnassignedPartnerID is used.
	UnassignedPartnerID string
	// Clock gives UpdatedAt and CreatedAt. If nil, time.Now is used.
	Clock func() time.Time
}

func (c Config) withDefaults() Config {
	if c.UnassignedPartnerID == "" {
		c.UnassignedPartnerID = DefaultUnassignedPartnerID
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

// Store is the partner directory. It is safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
	cfg Config
	// unassignedReady remembers that the unassigned partner record exists,
	// so EnsureContact costs no extra round trip after the first call.
	unassignedReady atomic.Bool
}

// New returns a Store on rdb. It does not contact Redis.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("directory: nil Redis client")
	}
	cfg = cfg.withDefaults()
	if err := checkID("unassigned_partner_id", cfg.UnassignedPartnerID, true); err != nil {
		return nil, fmt.Errorf("directory: config: %w", err)
	}
	return &Store{rdb: rdb, cfg: cfg}, nil
}

// UnassignedPartnerID returns the id of the partner holding contacts of
// unknown company.
func (s *Store) UnassignedPartnerID() string { return s.cfg.UnassignedPartnerID }

// now returns the current time as stored (see stamp).
func (s *Store) now() string { return stamp(s.cfg.Clock().UnixMilli()) }

// ---- partners ----

// PutPartner validates and upserts a partner. It returns the stored
// partner and whether anything changed; putting an identical partner
// again writes nothing and keeps UpdatedAt.
func (s *Store) PutPartner(ctx context.Context, p Partner) (Partner, bool, error) {
	c, changed, err := s.PutPartnerChange(ctx, p)
	return c.After, changed, err
}

func (s *Store) putPartner(ctx context.Context, p Partner, createOnly bool) (PartnerChange, bool, error) {
	res, err := s.upsert(ctx, newUpsert(partnerKey(p.ID), "", p.body(), s.now(), "", "", createOnly))
	if err != nil {
		return PartnerChange{}, false, fmt.Errorf("directory: put partner %q: %w", p.ID, err)
	}
	// The set is a global key, so it cannot join the script; it is written
	// after the record so a listed partner always has one.
	if err := s.rdb.SAdd(ctx, partnersKey, p.ID).Err(); err != nil {
		return PartnerChange{}, false, fmt.Errorf("directory: put partner %q: %w", p.ID, err)
	}
	c, err := partnerChange(p.ID, res.prev, res.value)
	return c, res.status != statusUnchanged, err
}

// GetPartner returns a partner or ErrNotFound.
func (s *Store) GetPartner(ctx context.Context, id string) (Partner, error) {
	if err := checkID("id", id, true); err != nil {
		return Partner{}, err
	}
	v, err := s.rdb.Get(ctx, partnerKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return Partner{}, fmt.Errorf("%w: partner %q", ErrNotFound, id)
	}
	if err != nil {
		return Partner{}, fmt.Errorf("directory: get partner %q: %w", id, err)
	}
	return decodePartner(id, v)
}

// PartnerIDs iterates over every partner id, each once, in no particular
// order, without loading them all in one reply. Iteration stops at the
// first error, which is yielded with an empty id.
func (s *Store) PartnerIDs(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		// SSCAN may return an element twice when the set is rehashed during
		// the scan; RFM ranking must count each partner once.
		seen := make(map[string]struct{})
		var cursor uint64
		for {
			ids, next, err := s.rdb.SScan(ctx, partnersKey, cursor, "", 1000).Result()
			if err != nil {
				yield("", fmt.Errorf("directory: scan partners: %w", err))
				return
			}
			for _, id := range ids {
				if _, dup := seen[id]; dup {
					continue
				}
				seen[id] = struct{}{}
				if !yield(id, nil) {
					return
				}
			}
			if next == 0 {
				return
			}
			cursor = next
		}
	}
}

// CountPartners returns how many partners exist.
func (s *Store) CountPartners(ctx context.Context) (int64, error) {
	return s.rdb.SCard(ctx, partnersKey).Result()
}

// ensureUnassigned creates the unassigned partner record if it is missing;
// it never overwrites one an operator has edited.
func (s *Store) ensureUnassigned(ctx context.Context) error {
	if s.unassignedReady.Load() {
		return nil
	}
	p := Partner{ID: s.cfg.UnassignedPartnerID, Name: "Unassigned"}
	if _, _, err := s.putPartner(ctx, p, true); err != nil {
		return err
	}
	s.unassignedReady.Store(true)
	return nil
}

// requirePartner returns ErrNotFound naming the partner unless it exists;
// the unassigned partner is created instead.
func (s *Store) requirePartner(ctx context.Context, pid string) error {
	if pid == s.cfg.UnassignedPartnerID {
		return s.ensureUnassigned(ctx)
	}
	n, err := s.rdb.Exists(ctx, partnerKey(pid)).Result()
	if err != nil {
		return fmt.Errorf("directory: check partner %q: %w", pid, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: partner %q", ErrNotFound, pid)
	}
	return nil
}

// ---- contacts ----

// PutContact validates and upserts a contact. An empty ID means the contact
// that already has the email, or else ContactIDFor(email); an empty
// PartnerID means the unassigned partner. The partner must exist
// (ErrNotFound). An email already owned by another contact is ErrConflict.
// A contact whose PartnerID changed is moved. It returns the stored
// contact and whether anything changed.
func (s *Store) PutContact(ctx context.Context, c Contact) (Contact, bool, error) {
	if err := c.Validate(); err != nil {
		return Contact{}, false, err
	}
	return s.putContact(ctx, c)
}

// putContact writes a validated contact following the steps in the package
// comment.
func (s *Store) putContact(ctx context.Context, c Contact) (Contact, bool, error) {
	if c.PartnerID == "" {
		c.PartnerID = s.cfg.UnassignedPartnerID
	}
	if err := s.requirePartner(ctx, c.PartnerID); err != nil {
		return Contact{}, false, err
	}
	fail := func(err error) (Contact, bool, error) {
		return Contact{}, false, fmt.Errorf("directory: put contact %q: %w", c.ID, err)
	}
	owner, err := s.liveOwner(ctx, c.Email, c.ID)
	if err != nil {
		return fail(err)
	}
	if c.ID == "" {
		c.ID = ContactIDFor(c.Email)
		if owner.cid != "" {
			c.ID = owner.cid
		}
	}
	if owner.cid != "" && owner.cid != c.ID {
		return Contact{}, false, emailConflict(owner.cid, c.ID)
	}
	oldPID, err := getOrEmpty(ctx, s.rdb, contactIDKey(c.ID))
	if err != nil {
		return fail(err)
	}
	moving := oldPID != "" && oldPID != c.PartnerID
	var old string // the record under the old partner, when moving
	created := ""
	if moving {
		if old, err = getOrEmpty(ctx, s.rdb, contactKey(oldPID, c.ID)); err != nil {
			return fail(err)
		}
		if _, err := parseStored(old); err == nil {
			created, _, _ = strings.Cut(old, " ") // a move keeps the creation time
		}
	}
	want := encodeHolder(c.PartnerID, c.ID)
	ownerRaw := ""
	if owner.cid == "" {
		// Step 1: claim the address. NX makes this the one place where
		// two writers racing for an address are told apart.
		prev, err := s.rdb.SetArgs(ctx, emailKey(c.Email), want, redis.SetArgs{Mode: "NX", Get: true}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			ownerRaw = want
		case err != nil:
			return fail(err)
		default:
			if h, _ := parseHolder(prev); h.cid != c.ID {
				return Contact{}, false, emailConflict(h.cid, c.ID)
			}
			ownerRaw = prev
		}
	} else {
		ownerRaw = encodeHolder(owner.pid, owner.cid)
	}
	// Step 2: the record and the partner's contact set, atomically.
	res, err := s.upsert(ctx, newUpsert(contactKey(c.PartnerID, c.ID), partnerContactsKey(c.PartnerID),
		c.body(), s.now(), created, c.ID, false))
	if err != nil {
		return fail(err)
	}
	// Step 3: indexes.
	if ownerRaw != want || oldPID != c.PartnerID {
		pipe := s.rdb.Pipeline()
		if ownerRaw != want {
			pipe.Set(ctx, emailKey(c.Email), want, 0)
		}
		if oldPID != c.PartnerID {
			pipe.Set(ctx, contactIDKey(c.ID), c.PartnerID, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fail(err)
		}
	}
	// Step 4: clean up what the old state left behind.
	prev := res.prev
	if moving {
		prev = old
		if _, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, contactKey(oldPID, c.ID))
			p.SRem(ctx, partnerContactsKey(oldPID), c.ID)
			return nil
		}); err != nil {
			return fail(err)
		}
	}
	if prev != "" {
		if pc, err := decodeContact(oldPID, c.ID, prev); err == nil && pc.Email != c.Email {
			if err := releaseEmailScript.Run(ctx, s.rdb, []string{emailKey(pc.Email)}, c.ID).Err(); err != nil {
				return fail(err)
			}
		}
	}
	out, err := decodeContact(c.PartnerID, c.ID, res.value)
	if err != nil {
		return fail(err)
	}
	return out, res.status != statusUnchanged || moving, nil
}

func emailConflict(ownerID, putID string) error {
	return fmt.Errorf("%w: email already belongs to contact %q, cannot give it to contact %q", ErrConflict, ownerID, putID)
}

// emailOwner reads the email index; a zero holder means nobody has it.
func (s *Store) emailOwner(ctx context.Context, email string) (holder, error) {
	v, err := getOrEmpty(ctx, s.rdb, emailKey(email))
	if err != nil || v == "" {
		return holder{}, err
	}
	h, _ := parseHolder(v)
	return h, nil
}

func getOrEmpty(ctx context.Context, rdb redis.Cmdable, key string) (string, error) {
	v, err := rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

// GetContact returns a contact by id, or ErrNotFound.
func (s *Store) GetContact(ctx context.Context, id string) (Contact, error) {
	if err := checkID("id", id, true); err != nil {
		return Contact{}, err
	}
	pid, err := getOrEmpty(ctx, s.rdb, contactIDKey(id))
	if err != nil {
		return Contact{}, fmt.Errorf("directory: get contact %q: %w", id, err)
	}
	if pid != "" {
		c, ok, err := s.readContact(ctx, pid, id)
		if err != nil || ok {
			return c, err
		}
	}
	return Contact{}, fmt.Errorf("%w: contact %q", ErrNotFound, id)
}

// ContactByEmail returns the contact with this address (trimmed, any case),
// or ErrNotFound.
func (s *Store) ContactByEmail(ctx context.Context, email string) (Contact, error) {
	norm, err := checkEmail("email", email)
	if err != nil {
		return Contact{}, err
	}
	h, err := s.emailOwner(ctx, norm)
	if err != nil {
		return Contact{}, fmt.Errorf("directory: contact by email: %w", err)
	}
	if h.cid != "" {
		c, ok, err := s.readContact(ctx, h.pid, h.cid)
		if err != nil {
			return Contact{}, err
		}
		// An entry left by a crash mid-way through an email change points
		// at a contact that has another address now.
		if ok && c.Email == norm {
			return c, nil
		}
	}
	return Contact{}, fmt.Errorf("%w: no contact with that email", ErrNotFound)
}

// LookupContact finds a contact by email when the argument contains "@",
// else by id.
func (s *Store) LookupContact(ctx context.Context, idOrEmail string) (Contact, error) {
	for _, r := range idOrEmail {
		if r == '@' {
			return s.ContactByEmail(ctx, idOrEmail)
		}
	}
	return s.GetContact(ctx, idOrEmail)
}

func (s *Store) readContact(ctx context.Context, pid, cid string) (Contact, bool, error) {
	v, err := getOrEmpty(ctx, s.rdb, contactKey(pid, cid))
	if err != nil {
		return Contact{}, false, fmt.Errorf("directory: get contact %q: %w", cid, err)
	}
	if v == "" {
		return Contact{}, false, nil
	}
	c, err := decodeContact(pid, cid, v)
	return c, err == nil, err
}

// ContactsOfPartner returns a partner's contacts sorted by id, or
// ErrNotFound when the partner does not exist.
func (s *Store) ContactsOfPartner(ctx context.Context, partnerID string) ([]Contact, error) {
	if err := checkID("partner_id", partnerID, true); err != nil {
		return nil, err
	}
	// The unassigned partner exists implicitly, even before its record.
	if partnerID != s.cfg.UnassignedPartnerID {
		if err := s.requirePartner(ctx, partnerID); err != nil {
			return nil, err
		}
	}
	var out []Contact
	var cursor uint64
	for {
		// SSCAN in pages: the unassigned partner can hold a great many.
		ids, next, err := s.rdb.SScan(ctx, partnerContactsKey(partnerID), cursor, "", 500).Result()
		if err != nil {
			return nil, fmt.Errorf("directory: contacts of %q: %w", partnerID, err)
		}
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, len(ids))
		for i, id := range ids {
			cmds[i] = pipe.Get(ctx, contactKey(partnerID, id))
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("directory: contacts of %q: %w", partnerID, err)
		}
		for i, cmd := range cmds {
			v, err := cmd.Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			c, err := decodeContact(partnerID, ids[i], v)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	slices.SortFunc(out, func(a, b Contact) int { return cmp.Compare(a.ID, b.ID) })
	// SSCAN may repeat a member when the set is rehashed mid-scan.
	out = slices.CompactFunc(out, func(a, b Contact) bool { return a.ID == b.ID })
	return out, nil
}

// EnsureContact returns the contact with this email, creating it under the
// unassigned partner with id ContactIDFor(email) if there is none. created
// is true for exactly one caller however many race for the same address.
func (s *Store) EnsureContact(ctx context.Context, email string) (Contact, bool, error) {
	norm, err := checkEmail("email", email)
	if err != nil {
		return Contact{}, false, err
	}
	cid := ContactIDFor(norm)
	for range 3 {
		h, err := s.liveOwner(ctx, norm, cid)
		if err != nil {
			return Contact{}, false, err
		}
		if h.cid == "" {
			// The claim decides the race: SET NX lets one caller in; the
			// others go round again and find its entry.
			err := s.rdb.SetArgs(ctx, emailKey(norm), encodeHolder(s.cfg.UnassignedPartnerID, cid),
				redis.SetArgs{Mode: "NX"}).Err()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return Contact{}, false, fmt.Errorf("directory: ensure contact: %w", err)
			}
			return s.createContact(ctx, s.cfg.UnassignedPartnerID, cid, norm)
		}
		c, ok, err := s.readContact(ctx, h.pid, h.cid)
		switch {
		case err != nil:
			return Contact{}, false, err
		case ok && c.Email == norm:
			return c, false, nil
		case !ok && h.cid == cid:
			// Our id holds the address but its record is not written yet:
			// another caller is writing it, or one crashed after its claim.
			// Writing the same record create-only settles both.
			return s.createContact(ctx, h.pid, cid, norm)
		}
	}
	return Contact{}, false, fmt.Errorf("%w: the email index for this address keeps changing or names contact %q without its record", ErrConflict, cid)
}

// Waiting for a writer between its claim and its record write.
const (
	ownerWaits     = 5
	ownerFirstWait = 5 * time.Millisecond
)

// liveOwner returns who owns an address: the contact its index entry names,
// provided that contact's record carries the address, or a zero holder
// when nobody does. An entry naming self is returned as it is.
//
// An entry whose contact's record lacks the address is either a writer
// between its claim and its record write (steps 1 and 2 of the package
// comment) or the leftover of a crash. It is given about 150ms to become
// true, then released as a leftover, so a crash never blocks an address
// for good.
func (s *Store) liveOwner(ctx context.Context, email, self string) (holder, error) {
	wait := ownerFirstWait
	for attempt := 0; ; attempt++ {
		raw, err := getOrEmpty(ctx, s.rdb, emailKey(email))
		if err != nil {
			return holder{}, fmt.Errorf("directory: email owner: %w", err)
		}
		h, valid := parseHolder(raw)
		if raw == "" || (valid && h.cid == self) {
			return h, nil
		}
		if valid {
			c, ok, err := s.readContact(ctx, h.pid, h.cid)
			if err != nil {
				return holder{}, err
			}
			if ok && c.Email == email {
				return h, nil
			}
		}
		if attempt == ownerWaits {
			if !valid {
				return holder{}, s.rdb.Del(ctx, emailKey(email)).Err()
			}
			return holder{}, releaseEmailScript.Run(ctx, s.rdb, []string{emailKey(email)}, h.cid).Err()
		}
		select {
		case <-ctx.Done():
			return holder{}, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// createContact writes the record of a contact whose address is claimed,
// create-only, and reports whether this call created it.
func (s *Store) createContact(ctx context.Context, pid, cid, email string) (Contact, bool, error) {
	fail := func(err error) (Contact, bool, error) {
		return Contact{}, false, fmt.Errorf("directory: ensure contact %q: %w", cid, err)
	}
	if err := s.requirePartner(ctx, pid); err != nil {
		return fail(err)
	}
	if other, err := getOrEmpty(ctx, s.rdb, contactIDKey(cid)); err != nil {
		return fail(err)
	} else if other != "" && other != pid {
		// The derived id belongs to a contact under another partner that
		// has since changed address; never make a second one with that id.
		return Contact{}, false, fmt.Errorf("%w: contact %q exists under partner %q with another email", ErrConflict, cid, other)
	}
	c := Contact{ID: cid, PartnerID: pid, Email: email, Consent: ConsentUnknown}
	res, err := s.upsert(ctx, newUpsert(contactKey(pid, cid), partnerContactsKey(pid), c.body(), s.now(), "", cid, true))
	if err != nil {
		return fail(err)
	}
	if err := s.rdb.Set(ctx, contactIDKey(cid), pid, 0).Err(); err != nil {
		return fail(err)
	}
	out, err := decodeContact(pid, cid, res.value)
	if err != nil {
		return fail(err)
	}
	if out.Email != email {
		return Contact{}, false, fmt.Errorf("%w: contact %q exists with another email", ErrConflict, cid)
	}
	return out, res.status == statusCreated, nil
}

// ---- reps ----

// PutRep validates and upserts a rep, returning the stored rep and whether
// anything changed.
func (s *Store) PutRep(ctx context.Context, r Rep) (Rep, bool, error) {
	if err := r.Validate(); err != nil {
		return Rep{}, false, err
	}
	res, err := s.upsert(ctx, newUpsert(repKey(r.ID), "", r.body(), s.now(), "", "", false))
	if err != nil {
		return Rep{}, false, fmt.Errorf("directory: put rep %q: %w", r.ID, err)
	}
	if err := s.rdb.SAdd(ctx, repsKey, r.ID).Err(); err != nil {
		return Rep{}, false, fmt.Errorf("directory: put rep %q: %w", r.ID, err)
	}
	out, err := decodeRep(r.ID, res.value)
	return out, res.status != statusUnchanged, err
}

// GetRep returns a rep or ErrNotFound.
func (s *Store) GetRep(ctx context.Context, id string) (Rep, error) {
	if err := checkID("id", id, true); err != nil {
		return Rep{}, err
	}
	v, err := s.rdb.Get(ctx, repKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return Rep{}, fmt.Errorf("%w: rep %q", ErrNotFound, id)
	}
	if err != nil {
		return Rep{}, fmt.Errorf("directory: get rep %q: %w", id, err)
	}
	return decodeRep(id, v)
}

// ListReps returns every rep sorted by id.
func (s *Store) ListReps(ctx context.Context) ([]Rep, error) {
	ids, err := s.rdb.SMembers(ctx, repsKey).Result()
	if err != nil {
		return nil, fmt.Errorf("directory: list reps: %w", err)
	}
	slices.Sort(ids)
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Get(ctx, repKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("directory: list reps: %w", err)
	}
	out := make([]Rep, 0, len(ids))
	for i, cmd := range cmds {
		v, err := cmd.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		r, err := decodeRep(ids[i], v)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// GetPartners reads the partners of ids in one pipelined round trip (ids
// should be a few hundred at most): found[i] says whether ids[i] exists.
// It is GetPartner for pages and runs that read every partner.
func (s *Store) GetPartners(ctx context.Context, ids []string) (ps []Partner, found []bool, err error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		if err := checkID("id", id, true); err != nil {
			return nil, nil, err
		}
		cmds[i] = pipe.Get(ctx, partnerKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("directory: get partners: %w", err)
	}
	ps, found = make([]Partner, len(ids)), make([]bool, len(ids))
	for i, c := range cmds {
		if c.Err() != nil { // redis.Nil: removed, or never there
			continue
		}
		if ps[i], err = decodePartner(ids[i], c.Val()); err != nil {
			return nil, nil, err
		}
		found[i] = true
	}
	return ps, found, nil
}
