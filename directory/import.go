package directory

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Kind names what a CSV file holds.
type Kind string

// The kinds of import. They are the CLI's words (longtail import KIND FILE).
const (
	KindPartners Kind = "partners"
	KindContacts Kind = "contacts"
	KindReps     Kind = "reps"
)

// ParseKind parses "partners", "contacts" or "reps" (any case).
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(strings.TrimSpace(s))); k {
	case KindPartners, KindContacts, KindReps:
		return k, nil
	}
	return "", fmt.Errorf("%w: import kind %q: want partners, contacts or reps", ErrInvalid, s)
}

// columns returns the columns a kind knows and those a file must have.
// Any other column is kept in Attrs under its header name.
func (k Kind) columns() (known, required []string) {
	switch k {
	case KindPartners:
		return []string{"id", "name", "type", "tier", "region", "country", "timezone", "owner_rep_id", "tags"},
			[]string{"id", "name"}
	case KindContacts:
		return []string{"id", "partner_id", "email", "first_name", "last_name", "persona", "timezone", "locale", "consent"},
			[]string{"email"}
	case KindReps:
		return []string{"id", "name", "email", "phone", "regions", "daily_capacity", "active", "signature", "manager_id"},
			[]string{"id", "name", "email"}
	}
	return nil, nil
}

// ImportOptions tunes an import.
type ImportOptions struct {
	// Name is the file name used in messages. If empty, "input".
	Name string
	// Progress, if set, is called after each batch with the number of data
	// rows read so far (imported or rejected).
	Progress func(rowsDone int)
	// BatchSize is how many rows are written per pipelined round of Redis
	// commands. If zero, 1000.
	BatchSize int
}

// ImportReport says what an import did.
type ImportReport struct {
	// Imported counts valid rows, written or already identical: importing
	// a file twice reports the same number both times.
	Imported int `json:"imported"`
	// Unchanged counts the imported rows that were already stored exactly
	// so and caused no write.
	Unchanged int `json:"unchanged"`
	// Rejected counts skipped rows; Errors says why, in line order.
	Rejected int        `json:"rejected"`
	Errors   []RowError `json:"errors,omitempty"`
}

// RowError is why one row was skipped.
type RowError struct {
	// Line is the 1-based physical line of the file where the row starts
	// (the header is line 1; quoted fields may span lines).
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Import upserts the rows of a CSV file with a header line.
//
// Columns are matched by header name (any order, any case). A column the
// file has sets that field, an empty cell clearing it; a field whose
// column the file lacks keeps its stored value, so a file of emails and
// names does not wipe personas or consent. Columns the kind does not know
// go to Attrs under their header name. Partner tags and rep regions are
// separated by ";" or "|"; rep active is true/false/yes/no/1/0 (empty:
// true). A contact row with no id updates the contact that has its email,
// else gets ContactIDFor(email); with no partner_id column it stays with
// its partner, and a new one goes to the unassigned partner.
//
// Bad rows are skipped and reported; every valid row is imported. A file
// the importer cannot read (no header, a required column missing) is an
// error wrapping ErrInvalid and nothing is written. Rows are written in
// batches, one pipelined round trip per step per batch; every row is an
// idempotent upsert, so after a Redis failure (returned with the report so
// far) running the import again completes it.
func (s *Store) Import(ctx context.Context, kind Kind, r io.Reader, opt ImportOptions) (*ImportReport, error) {
	if _, err := ParseKind(string(kind)); err != nil {
		return nil, err
	}
	if opt.Name == "" {
		opt.Name = "input"
	}
	if opt.BatchSize < 0 {
		return nil, fmt.Errorf("%w: import batch size %d is negative", ErrInvalid, opt.BatchSize)
	}
	if opt.BatchSize == 0 {
		opt.BatchSize = 1000
	}
	cr := csv.NewReader(r)
	// Checked per row instead, so one short row does not end the file.
	cr.FieldsPerRecord = -1
	first, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &FieldError{Field: "header", Msg: opt.Name + ": empty file, expected a header line"}
	}
	if err != nil {
		return nil, &FieldError{Field: "header", Msg: fmt.Sprintf("%s: header: %v", opt.Name, err)}
	}
	h, err := parseHeader(kind, first, opt.Name)
	if err != nil {
		return nil, err
	}
	im := &importer{
		s: s, kind: kind, h: h, rep: &ImportReport{},
		tzMemo:    map[string]error{},
		seenID:    map[string]int{},
		seenEmail: map[string]int{},
		partners:  map[string]bool{s.cfg.UnassignedPartnerID: true},
	}
	done, reported := 0, -1
	flush := func() error {
		if err := im.flush(ctx); err != nil {
			return fmt.Errorf("directory: import %s: %w", opt.Name, err)
		}
		if opt.Progress != nil && done != reported {
			opt.Progress(done)
			reported = done
		}
		return nil
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// The reader has consumed the bad row; carry on with the next.
			done++
			im.reject(pe.StartLine, pe.Err.Error())
			continue
		}
		if err != nil {
			im.sortErrors()
			return im.rep, fmt.Errorf("directory: import %s: %w", opt.Name, err)
		}
		done++
		line, _ := cr.FieldPos(0)
		if len(rec) != h.n {
			im.reject(line, fmt.Sprintf("wrong number of fields: %d, header has %d", len(rec), h.n))
			continue
		}
		im.add(line, rec)
		if len(im.pending) >= opt.BatchSize {
			if err := flush(); err != nil {
				im.sortErrors()
				return im.rep, err
			}
		}
	}
	err = flush()
	im.sortErrors()
	return im.rep, err
}

// header maps column names to positions.
type header struct {
	n     int
	known map[string]int
	attrs []attrCol
}

type attrCol struct {
	name string
	i    int
}

func parseHeader(kind Kind, cols []string, name string) (header, error) {
	known, required := kind.columns()
	h := header{n: len(cols), known: map[string]int{}}
	seen := map[string]bool{}
	for i, c := range cols {
		if i == 0 {
			c = strings.TrimPrefix(c, "\ufeff") // spreadsheet exports start with a BOM
		}
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			continue // a trailing comma in the header names nothing
		}
		if seen[c] {
			return header{}, &FieldError{Field: c, Msg: fmt.Sprintf("%s: line 1: column %q appears twice", name, c)}
		}
		seen[c] = true
		if slices.Contains(known, c) {
			h.known[c] = i
		} else {
			h.attrs = append(h.attrs, attrCol{name: c, i: i})
		}
	}
	for _, c := range required {
		if _, ok := h.known[c]; !ok {
			return header{}, &FieldError{Field: c, Msg: fmt.Sprintf("%s: missing required column %q for %s", name, c, kind)}
		}
	}
	return h, nil
}

// cell returns a trimmed cell and whether the file has that column.
func (h *header) cell(rec []string, col string) (string, bool) {
	i, ok := h.known[col]
	if !ok {
		return "", false
	}
	return strings.TrimSpace(rec[i]), true
}

// mergeAttrs applies the unknown columns of a row to stored attributes.
func (h *header) mergeAttrs(base map[string]string, rec []string) map[string]string {
	if len(h.attrs) == 0 {
		return base
	}
	out := make(map[string]string, len(base)+len(h.attrs))
	for k, v := range base {
		out[k] = v
	}
	for _, a := range h.attrs {
		if v := strings.TrimSpace(rec[a.i]); v != "" {
			out[a.name] = v
		} else {
			delete(out, a.name)
		}
	}
	return out
}

type row struct {
	line int
	rec  []string
	// contacts only, filled by add and flushContacts
	email, id, pid string
	pidGiven       bool
	cid, oldPID    string
	target         string
	owner          holder
	c              Contact
	claim          bool
	setEmail       bool
	setCID         bool
	viaPut         bool // written by putContact, not the batch
}

type importer struct {
	s       *Store
	kind    Kind
	h       header
	rep     *ImportReport
	pending []*row
	// tzMemo spares time.LoadLocation, which reads zoneinfo each call.
	tzMemo    map[string]error
	seenID    map[string]int
	seenEmail map[string]int
	// partners holds ids known to exist; only hits are kept, so a partner
	// created while the import runs is found by a later batch.
	partners map[string]bool
}

func (im *importer) tz(name string) error {
	if err, ok := im.tzMemo[name]; ok {
		return err
	}
	err := loadTZ(name)
	im.tzMemo[name] = err
	return err
}

func (im *importer) reject(line int, reason string) {
	im.rep.Rejected++
	im.rep.Errors = append(im.rep.Errors, RowError{Line: line, Reason: reason})
}

func (im *importer) sortErrors() {
	slices.SortStableFunc(im.rep.Errors, func(a, b RowError) int { return a.Line - b.Line })
}

// firstSeen records key as seen on line and returns the earlier line if
// it was seen before.
func firstSeen(m map[string]int, key string, line int) (int, bool) {
	if prev, ok := m[key]; ok {
		return prev, true
	}
	m[key] = line
	return 0, false
}

// add checks what a row can be checked for alone and queues it.
func (im *importer) add(line int, rec []string) {
	r := &row{line: line, rec: rec}
	if im.kind != KindContacts {
		id, _ := im.h.cell(rec, "id")
		if err := checkID("id", id, true); err != nil {
			im.reject(line, err.Error())
			return
		}
		if prev, dup := firstSeen(im.seenID, id, line); dup {
			im.reject(line, fmt.Sprintf("duplicate id %q (also on line %d)", id, prev))
			return
		}
		r.id = id
		im.pending = append(im.pending, r)
		return
	}
	raw, _ := im.h.cell(rec, "email")
	email, err := checkEmail("email", raw)
	if err != nil {
		im.reject(line, err.Error())
		return
	}
	r.email = email
	r.id, _ = im.h.cell(rec, "id")
	if err := checkID("id", r.id, false); err != nil {
		im.reject(line, err.Error())
		return
	}
	r.pid, r.pidGiven = im.h.cell(rec, "partner_id")
	if err := checkID("partner_id", r.pid, false); err != nil {
		im.reject(line, err.Error())
		return
	}
	if prev, dup := firstSeen(im.seenEmail, email, line); dup {
		im.reject(line, fmt.Sprintf("duplicate email (also on line %d)", prev))
		return
	}
	im.pending = append(im.pending, r)
}

func (im *importer) flush(ctx context.Context) error {
	rows := im.pending
	im.pending = im.pending[:0]
	if len(rows) == 0 {
		return nil
	}
	switch im.kind {
	case KindPartners:
		return flushSimple(ctx, im, rows, simpleKind[Partner]{
			key: partnerKey, set: partnersKey, decode: decodePartner,
			build: func(base Partner, found bool, r *row) (Partner, string, error) {
				p := base
				p.ID = r.id
				im.applyPartner(&p, r.rec)
				if err := p.validate(im.tz); err != nil {
					return p, "", err
				}
				return p, p.body(), nil
			},
		})
	case KindReps:
		return flushSimple(ctx, im, rows, simpleKind[Rep]{
			key: repKey, set: repsKey, decode: decodeRep,
			build: func(base Rep, found bool, r *row) (Rep, string, error) {
				rp := base
				if !found {
					rp.Active = true // a new rep takes calls unless told otherwise
				}
				rp.ID = r.id
				if err := im.applyRep(&rp, r.rec); err != nil {
					return rp, "", err
				}
				if err := rp.validate(); err != nil {
					return rp, "", err
				}
				return rp, rp.body(), nil
			},
		})
	default:
		return im.flushContacts(ctx, rows)
	}
}

func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' })
}

func (im *importer) applyPartner(p *Partner, rec []string) {
	for col, i := range im.h.known {
		v := strings.TrimSpace(rec[i])
		switch col {
		case "name":
			p.Name = v
		case "type":
			p.Type = v
		case "tier":
			p.Tier = v
		case "region":
			p.Region = v
		case "country":
			p.Country = v
		case "timezone":
			p.Timezone = v
		case "owner_rep_id":
			p.OwnerRepID = v
		case "tags":
			p.Tags = splitList(v)
		}
	}
	p.Attrs = im.h.mergeAttrs(p.Attrs, rec)
}

func (im *importer) applyRep(r *Rep, rec []string) error {
	for col, i := range im.h.known {
		v := strings.TrimSpace(rec[i])
		switch col {
		case "name":
			r.Name = v
		case "email":
			r.Email = v
		case "phone":
			r.Phone = v
		case "signature":
			r.Signature = v
		case "manager_id":
			r.ManagerID = v
		case "regions":
			r.Regions = splitList(v)
		case "daily_capacity":
			r.DailyCapacity = 0
			if v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					return invalid("daily_capacity", "%q is not a whole number", v)
				}
				r.DailyCapacity = n
			}
		case "active":
			b, err := parseBool(v)
			if err != nil {
				return err
			}
			r.Active = b
		}
	}
	r.Attrs = im.h.mergeAttrs(r.Attrs, rec)
	return nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "true", "yes", "1", "y":
		return true, nil
	case "false", "no", "0", "n":
		return false, nil
	}
	return false, invalid("active", "%q is not one of true/false/yes/no/1/0", v)
}

func (im *importer) applyContact(c *Contact, rec []string) {
	for col, i := range im.h.known {
		v := strings.TrimSpace(rec[i])
		switch col {
		case "first_name":
			c.FirstName = v
		case "last_name":
			c.LastName = v
		case "persona":
			c.Persona = v
		case "timezone":
			c.Timezone = v
		case "locale":
			c.Locale = v
		case "consent":
			c.Consent = v
		}
	}
	c.Attrs = im.h.mergeAttrs(c.Attrs, rec)
}

// simpleKind describes a record with one key and one global set: partners
// and reps.
type simpleKind[T any] struct {
	key    func(id string) string
	set    string
	decode func(id, v string) (T, error)
	// build merges a row into the stored record (found) or a zero one and
	// validates it, returning the body to store.
	build func(base T, found bool, r *row) (T, string, error)
}

// flushSimple writes a batch of partners or reps in three round trips:
// read the stored records, upsert those that differ, add all ids to the
// set (last, so a listed id always has a record).
func flushSimple[T any](ctx context.Context, im *importer, rows []*row, k simpleKind[T]) error {
	rdb := im.s.rdb
	pipe := rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(rows))
	for i, r := range rows {
		gets[i] = pipe.Get(ctx, k.key(r.id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	now := im.s.now()
	var calls []upsertCall
	var ids []any
	for i, r := range rows {
		old, err := gets[i].Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		var base T
		found := false
		if old != "" {
			if b, err := k.decode(r.id, old); err == nil {
				base, found = b, true
			}
		}
		_, body, err := k.build(base, found, r)
		if err != nil {
			im.reject(r.line, err.Error())
			continue
		}
		im.rep.Imported++
		ids = append(ids, r.id)
		if st, err := parseStored(old); found && err == nil && st.body == body {
			im.rep.Unchanged++
			continue
		}
		calls = append(calls, newUpsert(k.key(r.id), "", body, now, "", "", false))
	}
	res, err := im.s.upsertAll(ctx, calls)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.status == statusUnchanged {
			im.rep.Unchanged++ // written identically by someone else meanwhile
		}
	}
	if len(ids) > 0 {
		// SADD of present members changes nothing, and re-adding every id
		// repairs a set left short by a crash after the record write.
		return rdb.SAdd(ctx, k.set, ids...).Err()
	}
	return nil
}

// flushContacts writes a batch of contacts in a fixed number of pipelined
// round trips, following the order of the package comment: read indexes
// and partners, read stored records, claim new addresses, write records,
// write indexes. The rare rows that move to another partner, change
// address or name an address held by another contact go through
// putContact one by one.
func (im *importer) flushContacts(ctx context.Context, rows []*row) error {
	s := im.s
	rdb := s.rdb
	unassigned := s.cfg.UnassignedPartnerID

	// Round 1: who owns each address, where each id lives, which partners
	// exist.
	pipe := rdb.Pipeline()
	ownerCmds := make([]*redis.StringCmd, len(rows))
	cidCmds := make([]*redis.StringCmd, len(rows))
	partnerCmds := map[string]*redis.IntCmd{}
	for i, r := range rows {
		ownerCmds[i] = pipe.Get(ctx, emailKey(r.email))
		id := r.id
		if id == "" {
			id = ContactIDFor(r.email)
		}
		cidCmds[i] = pipe.Get(ctx, contactIDKey(id))
		if r.pid != "" && !im.partners[r.pid] && partnerCmds[r.pid] == nil {
			partnerCmds[r.pid] = pipe.Exists(ctx, partnerKey(r.pid))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	for pid, cmd := range partnerCmds {
		if cmd.Val() == 1 {
			im.partners[pid] = true
		}
	}
	live := rows[:0]
	for i, r := range rows {
		ownerRaw, err := valOrEmpty(ownerCmds[i])
		if err != nil {
			return err
		}
		idxPID, err := valOrEmpty(cidCmds[i])
		if err != nil {
			return err
		}
		r.owner, _ = parseHolder(ownerRaw)
		r.cid = r.id
		if r.cid == "" {
			r.cid = ContactIDFor(r.email)
			if r.owner.cid != "" {
				r.cid = r.owner.cid
				idxPID = r.owner.pid // the id index read above was for the derived id
			}
		}
		// Another contact holds the address. putContact decides: it is a
		// conflict unless the entry is a crash's leftover.
		r.viaPut = r.owner.cid != "" && r.owner.cid != r.cid
		if prev, dup := firstSeen(im.seenID, r.cid, r.line); dup {
			im.reject(r.line, fmt.Sprintf("duplicate id %q (also on line %d)", r.cid, prev))
			continue
		}
		r.oldPID = idxPID
		switch {
		case r.pid != "":
			r.target = r.pid
		case !r.pidGiven && r.oldPID != "":
			r.target = r.oldPID
		default:
			r.target = unassigned
		}
		// A contact staying where it is needs no check of its partner.
		if !im.partners[r.target] && r.target != r.oldPID {
			im.reject(r.line, fmt.Sprintf("unknown partner %q", r.target))
			continue
		}
		live = append(live, r)
	}

	// Round 2: the stored records, to merge the row into and compare.
	pipe = rdb.Pipeline()
	oldCmds := make([]*redis.StringCmd, len(live))
	for i, r := range live {
		if r.oldPID != "" {
			oldCmds[i] = pipe.Get(ctx, contactKey(r.oldPID, r.cid))
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
	}
	var fast, slow []*row
	needUnassigned := false
	for i, r := range live {
		var old string
		if oldCmds[i] != nil {
			v, err := valOrEmpty(oldCmds[i])
			if err != nil {
				return err
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
		c := base
		c.ID, c.PartnerID, c.Email = r.cid, r.target, r.email
		im.applyContact(&c, r.rec)
		if err := c.validate(im.tz); err != nil {
			im.reject(r.line, err.Error())
			continue
		}
		r.c = c
		if r.viaPut || (r.oldPID != "" && r.oldPID != r.target) || (found && base.Email != r.email) {
			slow = append(slow, r)
			continue
		}
		want := encodeHolder(r.target, r.cid)
		r.claim = r.owner.cid == ""
		r.setEmail = !r.claim && encodeHolder(r.owner.pid, r.owner.cid) != want
		r.setCID = r.oldPID != r.target
		if !r.claim && !r.setEmail && !r.setCID && found && st.body == c.body() {
			im.rep.Imported++
			im.rep.Unchanged++
			continue
		}
		if r.target == unassigned {
			needUnassigned = true
		}
		fast = append(fast, r)
	}
	if needUnassigned {
		if err := s.ensureUnassigned(ctx); err != nil {
			return err
		}
	}

	// Round 3: claim the addresses nobody had.
	pipe = rdb.Pipeline()
	claims := make([]*redis.StatusCmd, len(fast))
	for i, r := range fast {
		if r.claim {
			claims[i] = pipe.SetArgs(ctx, emailKey(r.email), encodeHolder(r.target, r.cid), redis.SetArgs{Mode: "NX", Get: true})
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
	}
	claimed := fast[:0]
	for i, r := range fast {
		if claims[i] != nil {
			prev, err := valOrEmpty(claims[i])
			if err != nil {
				return err
			}
			if prev != "" {
				// Someone took the address between round 1 and now.
				h, _ := parseHolder(prev)
				if h.cid != r.cid {
					im.reject(r.line, fmt.Sprintf("email already belongs to contact %q", h.cid))
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
		return err
	}

	// Round 5: the indexes, last.
	pipe = rdb.Pipeline()
	for i, r := range fast {
		if r.setEmail {
			pipe.Set(ctx, emailKey(r.email), encodeHolder(r.target, r.cid), 0)
		}
		if r.setCID {
			pipe.Set(ctx, contactIDKey(r.cid), r.target, 0)
		}
		im.rep.Imported++
		if res[i].status == statusUnchanged && !r.claim && !r.setEmail && !r.setCID {
			im.rep.Unchanged++
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
	}

	for _, r := range slow {
		_, changed, err := s.putContact(ctx, r.c)
		switch {
		case errors.Is(err, ErrInvalid), errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
			im.reject(r.line, err.Error())
		case err != nil:
			return err
		default:
			im.rep.Imported++
			if !changed {
				im.rep.Unchanged++
			}
		}
	}
	return nil
}

func valOrEmpty(cmd interface{ Result() (string, error) }) (string, error) {
	v, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}
