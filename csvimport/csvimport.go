// Package csvimport loads partners, contacts and reps from CSV files into
// the directory (longtail import KIND FILE): it reads the file, matches
// columns by header name, checks what each row can be checked for alone
// (ids, the email, duplicates within the file), reports bad rows by line,
// and hands the rest to the directory in batches (directory.Batch), which
// writes each batch in a few pipelined round trips.
package csvimport

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/ident"
)

// Store is the directory the rows go to (*directory.Store implements it).
type Store interface {
	NewBatch() *directory.Batch
}

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
	return "", fmt.Errorf("%w: import kind %q: want partners, contacts or reps", directory.ErrInvalid, s)
}

// columns returns the columns a kind knows and those a file must have.
// Any other column is kept in Attrs under its header name.
func (k Kind) columns() (known, required []string) {
	switch k {
	case KindPartners:
		return []string{"id", "name", "type", "tier", "region", "country", "timezone", "owner_rep_id", "tags", "phone", "website", "joined_at", "left_at"},
			[]string{"id", "name"}
	case KindContacts:
		return []string{"id", "partner_id", "email", "first_name", "last_name", "persona", "timezone", "locale", "consent", "phone", "title"},
			[]string{"email"}
	case KindReps:
		return []string{"id", "name", "email", "phone", "regions", "daily_capacity", "active", "signature", "manager_id"},
			[]string{"id", "name", "email"}
	}
	return nil, nil
}

// Options tunes an import.
type Options struct {
	// Name is the file name used in messages. If empty, "input".
	Name string
	// Progress, if set, is called after each batch with the number of data
	// rows read so far (imported or rejected).
	Progress func(rowsDone int)
	// BatchSize is how many rows are written per pipelined round of Redis
	// commands. If zero, 1000.
	BatchSize int
	// Created, if set, is told after each batch the ids of the contacts
	// it created (not those it updated): nurture's contact.created
	// trigger. An error stops the import like a failed write.
	Created func(ctx context.Context, contactIDs []string) error
	// PartnersChanged, if set, is told after each batch what it changed
	// of the partners it wrote (not those already stored so): the
	// program recomputes the stage of those whose dates moved. An error
	// stops the import like a failed write.
	PartnersChanged func(ctx context.Context, changes []directory.PartnerChange) error
}

// Report says what an import did.
type Report struct {
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

// Import upserts the rows of a CSV file with a header line into s.
//
// Columns are matched by header name (any order, any case). A column the
// file has sets that field, an empty cell clearing it; a field whose
// column the file lacks keeps its stored value, so a file of emails and
// names does not wipe personas or consent. Columns the kind does not know
// go to Attrs under their header name. Partner tags and rep regions are
// separated by ";" or "|"; rep active is true/false/yes/no/1/0 (empty:
// true). A contact row with no id updates the contact that has its email,
// else gets directory.ContactIDFor(email); with no partner_id column it
// stays with its partner, and a new one goes to the unassigned partner.
//
// Bad rows are skipped and reported; every valid row is imported. A file
// the importer cannot read (no header, a required column missing) is an
// error wrapping directory.ErrInvalid (a *directory.FieldError naming the
// column, or "header") and nothing is written. Rows are written in
// batches; every row is an idempotent upsert, so after a Redis failure
// (returned with the report so far) running the import again completes it.
func Import(ctx context.Context, s Store, kind Kind, r io.Reader, opt Options) (*Report, error) {
	if _, err := ParseKind(string(kind)); err != nil {
		return nil, err
	}
	if opt.Name == "" {
		opt.Name = "input"
	}
	if opt.BatchSize < 0 {
		return nil, fmt.Errorf("%w: import batch size %d is negative", directory.ErrInvalid, opt.BatchSize)
	}
	if opt.BatchSize == 0 {
		opt.BatchSize = 1000
	}
	cr := csv.NewReader(r)
	// Checked per row instead, so one short row does not end the file.
	cr.FieldsPerRecord = -1
	first, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &directory.FieldError{Field: "header", Msg: opt.Name + ": empty file, expected a header line"}
	}
	if err != nil {
		return nil, &directory.FieldError{Field: "header", Msg: fmt.Sprintf("%s: header: %v", opt.Name, err)}
	}
	h, err := parseHeader(kind, first, opt.Name)
	if err != nil {
		return nil, err
	}
	im := &importer{
		batch: s.NewBatch(), kind: kind, h: h, rep: &Report{},
		seenID:    map[string]int{},
		seenEmail: map[string]int{},
		created:   opt.Created,
		changed:   opt.PartnersChanged,
	}
	done, reported := 0, -1
	flush := func() error {
		if err := im.flush(ctx); err != nil {
			return fmt.Errorf("csvimport: %s: %w", opt.Name, err)
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
			return im.rep, fmt.Errorf("csvimport: %s: %w", opt.Name, err)
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
			return header{}, &directory.FieldError{Field: c, Msg: fmt.Sprintf("%s: line 1: column %q appears twice", name, c)}
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
			return header{}, &directory.FieldError{Field: c, Msg: fmt.Sprintf("%s: missing required column %q for %s", name, c, kind)}
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

// row is a data row waiting for its batch.
type row struct {
	line int
	rec  []string
	// contacts only
	email, id, pid string
	pidGiven       bool
}

type importer struct {
	batch     *directory.Batch
	kind      Kind
	h         header
	rep       *Report
	pending   []*row
	seenID    map[string]int
	seenEmail map[string]int
	created   func(ctx context.Context, contactIDs []string) error
	changed   func(ctx context.Context, changes []directory.PartnerChange) error
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

// checkID applies the id rule (package ident) to an id cell; an optional
// one may be empty.
func checkID(field, v string, required bool) error {
	if v == "" && !required {
		return nil
	}
	return ident.Check(field, v)
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
	email, err := directory.CheckEmail(raw)
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

// flush writes the pending rows as one batch and reports each.
func (im *importer) flush(ctx context.Context) error {
	rows := im.pending
	im.pending = im.pending[:0]
	if len(rows) == 0 {
		return nil
	}
	var res []directory.PutResult
	var err error
	var newIDs []string // contacts: the id of row i when it was created
	switch im.kind {
	case KindPartners:
		items := make([]directory.PartnerPut, len(rows))
		for i, r := range rows {
			items[i] = directory.PartnerPut{ID: r.id, Merge: func(p directory.Partner, _ bool) (directory.Partner, error) {
				im.applyPartner(&p, r.rec)
				return p, nil
			}}
		}
		res, err = im.batch.PutPartners(ctx, items)
	case KindReps:
		items := make([]directory.RepPut, len(rows))
		for i, r := range rows {
			items[i] = directory.RepPut{ID: r.id, Merge: func(rp directory.Rep, found bool) (directory.Rep, error) {
				if !found {
					rp.Active = true // a new rep takes calls unless told otherwise
				}
				return rp, im.applyRep(&rp, r.rec)
			}}
		}
		res, err = im.batch.PutReps(ctx, items)
	default:
		items := make([]directory.ContactPut, len(rows))
		newIDs = make([]string, len(rows))
		resolved := make([]string, len(rows))
		for i, r := range rows {
			items[i] = directory.ContactPut{
				Email: r.email, ID: r.id, PartnerID: r.pid, KeepPartner: !r.pidGiven,
				Resolved: func(id string) error {
					resolved[i] = id
					if prev, dup := firstSeen(im.seenID, id, r.line); dup {
						return fmt.Errorf("duplicate id %q (also on line %d)", id, prev)
					}
					return nil
				},
				Merge: func(c directory.Contact, found bool) directory.Contact {
					im.applyContact(&c, r.rec)
					newIDs[i] = ""
					if !found {
						newIDs[i] = resolved[i] // Merge sees the stored contact, without its id when new
					}
					return c
				},
			}
		}
		res, err = im.batch.PutContacts(ctx, items)
	}
	if err != nil {
		return err
	}
	var created []string
	var changed []directory.PartnerChange
	for i, r := range res {
		if r.Err == nil && newIDs != nil && newIDs[i] != "" {
			created = append(created, newIDs[i])
		}
		if r.Change != nil {
			changed = append(changed, *r.Change)
		}
		switch {
		case r.Err != nil:
			im.reject(rows[i].line, r.Err.Error())
		case r.Unchanged:
			im.rep.Imported++
			im.rep.Unchanged++
		default:
			im.rep.Imported++
		}
	}
	if len(created) > 0 && im.created != nil {
		if err := im.created(ctx, created); err != nil {
			return fmt.Errorf("contact.created: %w", err)
		}
	}
	if len(changed) > 0 && im.changed != nil {
		if err := im.changed(ctx, changed); err != nil {
			return fmt.Errorf("partner changes: %w", err)
		}
	}
	return nil
}

func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' })
}

func (im *importer) applyPartner(p *directory.Partner, rec []string) {
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
		case "phone":
			p.Phone = v
		case "website":
			p.Website = v
		case "joined_at":
			p.JoinedAt = v
		case "left_at":
			p.LeftAt = v
		}
	}
	p.Attrs = im.h.mergeAttrs(p.Attrs, rec)
}

func (im *importer) applyRep(r *directory.Rep, rec []string) error {
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

// invalid is a row's field error, worded as the directory's own.
func invalid(field, format string, args ...any) error {
	return &directory.FieldError{Field: field, Msg: "invalid " + field + ": " + fmt.Sprintf(format, args...)}
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

func (im *importer) applyContact(c *directory.Contact, rec []string) {
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
		case "phone":
			c.Phone = v
		case "title":
			c.Title = v
		}
	}
	c.Attrs = im.h.mergeAttrs(c.Attrs, rec)
}
