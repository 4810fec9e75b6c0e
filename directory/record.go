package directory

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ident"
)

// Partner is a partner company (account).
type Partner struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Type is one of PartnerTypes, or empty.
	Type       string `json:"type"`
	Tier       string `json:"tier"`
	Region     string `json:"region"`
	Country    string `json:"country"`
	Timezone   string `json:"timezone"`
	OwnerRepID string `json:"owner_rep_id"`
	// Phone and Website are the partner company's switchboard and site,
	// shown on the rep's call card.
	Phone   string            `json:"phone,omitempty"`
	Website string            `json:"website,omitempty"`
	Tags    []string          `json:"tags,omitempty"`
	Attrs   map[string]string `json:"attrs,omitempty"`
	// JoinedAt and LeftAt are when the partner joined and left the
	// program ("" when unknown, or while it is in): a date "2025-03-01"
	// (midnight UTC) or an RFC 3339 time. Validate keeps a date as given
	// and writes a time in UTC; Joined and Left read them.
	JoinedAt string `json:"joined_at,omitempty"`
	LeftAt   string `json:"left_at,omitempty"`
	// UpdatedAt is set by the store and moves only when a field changed.
	UpdatedAt time.Time `json:"updated_at"`
}

// Joined is JoinedAt as a time; zero when unknown or unreadable (a
// validated partner's always reads).
func (p *Partner) Joined() time.Time { t, _ := ParseProgramDate(p.JoinedAt); return t }

// Left is LeftAt as a time; zero while the partner is in the program.
func (p *Partner) Left() time.Time { t, _ := ParseProgramDate(p.LeftAt); return t }

// ParseProgramDate reads a joined_at or left_at value: "" is the zero
// time, a date "2025-03-01" is its midnight UTC, else an RFC 3339 time.
func ParseProgramDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD) or an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// checkProgramDate normalises a joined_at or left_at value: a date stays
// as it is, a time is written in UTC, so that equal instants store alike.
func checkProgramDate(field, v string) (string, time.Time, error) {
	v = strings.TrimSpace(v)
	t, err := ParseProgramDate(v)
	if err != nil {
		return "", time.Time{}, invalid(field, "%v", err)
	}
	if v == "" {
		return "", t, nil
	}
	if t.Before(event.PlausibleSince) {
		return "", time.Time{}, invalid(field, "%s is before 2000: check for a two-digit year", v)
	}
	if _, err := time.Parse(time.DateOnly, v); err == nil {
		return v, t, nil
	}
	return t.Format(time.RFC3339Nano), t, nil
}

// Contact is a person at a partner.
type Contact struct {
	// ID may be empty on input: the store then uses the id of the contact
	// that already has the email, or derives one (ContactIDFor).
	ID string `json:"id"`
	// PartnerID may be empty on input: the store then files the contact
	// under the unassigned partner.
	PartnerID string `json:"partner_id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Persona   string `json:"persona"`
	// Title is the contact's job title and Phone the number a rep calls
	// (the call card shows both).
	Title    string `json:"title,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Timezone string `json:"timezone"`
	Locale   string `json:"locale"`
	// Consent is one of the Consent constants; empty means ConsentUnknown.
	Consent   string            `json:"consent"`
	Attrs     map[string]string `json:"attrs,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Rep is a human channel account manager.
type Rep struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Email         string   `json:"email"`
	Phone         string   `json:"phone"`
	Signature     string   `json:"signature"`
	Regions       []string `json:"regions,omitempty"`
	DailyCapacity int      `json:"daily_capacity"`
	Active        bool     `json:"active"`
	// OutOfOfficeUntil, when set and in the future, keeps handoffs away.
	OutOfOfficeUntil *time.Time        `json:"out_of_office_until,omitempty"`
	ManagerID        string            `json:"manager_id"`
	Attrs            map[string]string `json:"attrs,omitempty"`
	UpdatedAt        time.Time         `json:"updated_at"`
}

// Consent states of a contact.
const (
	ConsentUnknown   = "unknown"
	ConsentGranted   = "granted"
	ConsentWithdrawn = "withdrawn"
)

// partnerTypes are the canonical spellings; input matches case-insensitively.
var partnerTypes = []string{"VAR", "MSP", "SI", "ISV", "hoster", "training", "wholesaler", "consulting", "alliance"}

// PartnerTypes returns the valid Partner.Type values in canonical spelling.
func PartnerTypes() []string { return slices.Clone(partnerTypes) }

var (
	localeRE = regexp.MustCompile(`^[a-z]{2}(-[A-Z]{2})?$`)
)

// Size limits keep one record from bloating Redis.
const (
	maxText      = 256
	maxPersona   = 64
	maxPhone     = 64
	maxSignature = 4096
	maxListItems = 64
	maxListItem  = 64
	maxAttrs     = 64
	maxAttrKey   = 64
	maxAttrValue = 1024
	maxCapacity  = 10000
)

// ContactIDFor returns the id derived from an email for a contact created
// without one: "c_" + the first 16 hex digits of SHA-256 of the normalised
// address. The caller passes a normalised address (event.NormalizeEmail).
func ContactIDFor(email string) string {
	sum := sha256.Sum256([]byte(email))
	return "c_" + hex.EncodeToString(sum[:8])
}

// FieldError is a validation error naming the offending field. It wraps
// ErrInvalid.
type FieldError struct {
	// Field is the JSON name of the field ("email", "timezone"...).
	Field string
	// Msg is the whole message, e.g. `missing email` or
	// `invalid timezone: unknown time zone "Mars/Base"`.
	Msg string
}

func (e *FieldError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func missing(field string) error {
	return &FieldError{Field: field, Msg: "missing " + field}
}

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: "invalid " + field + ": " + fmt.Sprintf(format, args...)}
}

// tzCheck reports whether a time zone name is known. Validate uses
// loadTZ; an import memoises it, because time.LoadLocation reads the
// zoneinfo database on every call.
type tzCheck func(name string) error

func loadTZ(name string) error {
	if name == "Local" {
		// Local means the server's zone, which differs between machines.
		return fmt.Errorf("unknown time zone %q (use an IANA name such as Europe/Paris)", name)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Errorf("unknown time zone %q", name)
	}
	return nil
}

// checkID applies the one id rule (package ident); an optional id may be
// empty.
func checkID(field, v string, required bool) error {
	if v == "" && !required {
		return nil
	}
	if err := ident.Check(field, v); err != nil {
		return &FieldError{Field: field, Msg: err.Error()}
	}
	return nil
}

// checkText trims a one-line text field. Control characters are refused:
// they have no place in a name, and the contact encoding uses one as its
// field separator.
func checkText(field, v string, max int, required bool) (string, error) {
	v, err := checkMultiline(field, v, max, required)
	if err == nil && strings.ContainsFunc(v, unicode.IsControl) {
		return "", invalid(field, "contains control characters such as line breaks")
	}
	return v, err
}

// checkMultiline trims a text field that may span lines.
func checkMultiline(field, v string, max int, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" && required {
		return "", missing(field)
	}
	if len(v) > max {
		return "", invalid(field, "longer than %d bytes", max)
	}
	return v, nil
}

func checkTZ(tz tzCheck, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if err := tz(v); err != nil {
		return "", invalid("timezone", "%v", err)
	}
	return v, nil
}

func checkEmail(field, v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", missing(field)
	}
	norm, err := event.NormalizeEmail(v)
	if err != nil {
		return "", invalid(field, "%v", err)
	}
	return norm, nil
}

// cleanList trims items, drops empty ones and repeats, and keeps the order
// given: a list is stored in one canonical form so re-putting it is a no-op.
func cleanList(field string, in []string) ([]string, error) {
	var out []string
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" || slices.Contains(out, v) {
			continue
		}
		if len(v) > maxListItem {
			return nil, invalid(field, "%q is longer than %d bytes", v, maxListItem)
		}
		out = append(out, v)
	}
	if len(out) > maxListItems {
		return nil, invalid(field, "more than %d items", maxListItems)
	}
	return out, nil
}

// cleanAttrs trims keys and drops empty values (an empty value removes an
// attribute), so that absent and empty are stored alike.
func cleanAttrs(in map[string]string) (map[string]string, error) {
	var out map[string]string
	for k, v := range in {
		k = strings.TrimSpace(k)
		if k == "" {
			return nil, invalid("attrs", "empty attribute name")
		}
		if len(k) > maxAttrKey {
			return nil, invalid("attrs", "attribute name %q is longer than %d bytes", k, maxAttrKey)
		}
		if v == "" {
			continue
		}
		if len(v) > maxAttrValue {
			return nil, invalid("attrs", "value of %q is longer than %d bytes", k, maxAttrValue)
		}
		if out == nil {
			out = make(map[string]string, len(in))
		}
		out[k] = v
	}
	if len(out) > maxAttrs {
		return nil, invalid("attrs", "more than %d attributes", maxAttrs)
	}
	return out, nil
}

// Validate checks the partner and normalises it in place: fields trimmed,
// Type in canonical spelling, tags de-duplicated. It names the first
// offending field; errors wrap ErrInvalid.
func (p *Partner) Validate() error { return p.validate(loadTZ) }

func (p *Partner) validate(tz tzCheck) error {
	var err error
	p.ID = strings.TrimSpace(p.ID)
	if err = checkID("id", p.ID, true); err != nil {
		return err
	}
	if p.Name, err = checkText("name", p.Name, maxText, true); err != nil {
		return err
	}
	if p.Type, err = canonicalType(p.Type); err != nil {
		return err
	}
	if p.Tier, err = checkText("tier", p.Tier, maxText, false); err != nil {
		return err
	}
	if p.Region, err = checkText("region", p.Region, maxText, false); err != nil {
		return err
	}
	if p.Country, err = checkText("country", p.Country, maxText, false); err != nil {
		return err
	}
	if p.Timezone, err = checkTZ(tz, p.Timezone); err != nil {
		return err
	}
	if p.Phone, err = checkText("phone", p.Phone, maxPhone, false); err != nil {
		return err
	}
	if p.Website, err = checkWebsite("website", p.Website); err != nil {
		return err
	}
	p.OwnerRepID = strings.TrimSpace(p.OwnerRepID)
	if err = checkID("owner_rep_id", p.OwnerRepID, false); err != nil {
		return err
	}
	if p.Tags, err = cleanList("tags", p.Tags); err != nil {
		return err
	}
	var joined, left time.Time
	if p.JoinedAt, joined, err = checkProgramDate("joined_at", p.JoinedAt); err != nil {
		return err
	}
	if p.LeftAt, left, err = checkProgramDate("left_at", p.LeftAt); err != nil {
		return err
	}
	if !joined.IsZero() && !left.IsZero() && left.Before(joined) {
		return invalid("left_at", "%s is before joined_at %s", p.LeftAt, p.JoinedAt)
	}
	p.Attrs, err = cleanAttrs(p.Attrs)
	return err
}

// foldFieldAttrs moves a phone or title kept as an attribute (before they
// were fields, an undocumented CSV column became one) to its field, unless
// the field is set: written and read alike.
func (c *Contact) foldFieldAttrs() {
	for key, f := range map[string]*string{"phone": &c.Phone, "title": &c.Title} {
		if v, ok := c.Attrs[key]; ok {
			if strings.TrimSpace(*f) == "" {
				*f = v
			}
			delete(c.Attrs, key)
		}
	}
}

// maxWebsite bounds a partner's website URL.
const maxWebsite = 2048

// checkWebsite trims v and requires an absolute http or https URL.
func checkWebsite(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if len(v) > maxWebsite {
		return "", invalid(field, "longer than %d bytes", maxWebsite)
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", invalid(field, "%q is not an http or https URL", v)
	}
	return v, nil
}

func canonicalType(t string) (string, error) {
	t = strings.TrimSpace(t)
	if t == "" {
		return "", nil
	}
	for _, v := range partnerTypes {
		if strings.EqualFold(v, t) {
			return v, nil
		}
	}
	return "", invalid("type", "%q is not one of %s", t, strings.Join(partnerTypes, ", "))
}

// Validate checks the contact and normalises it in place: email trimmed and
// lower-cased, persona lower-cased, locale as "fr" or "fr-FR" ("fr_fr" is
// accepted), Consent defaulted to ConsentUnknown. ID and PartnerID may be
// empty (see Contact). Errors name the field and wrap ErrInvalid.
func (c *Contact) Validate() error { return c.validate(loadTZ) }

func (c *Contact) validate(tz tzCheck) error {
	var err error
	c.ID = strings.TrimSpace(c.ID)
	if err = checkID("id", c.ID, false); err != nil {
		return err
	}
	c.PartnerID = strings.TrimSpace(c.PartnerID)
	if err = checkID("partner_id", c.PartnerID, false); err != nil {
		return err
	}
	if c.Email, err = checkEmail("email", c.Email); err != nil {
		return err
	}
	if c.FirstName, err = checkText("first_name", c.FirstName, maxText, false); err != nil {
		return err
	}
	if c.LastName, err = checkText("last_name", c.LastName, maxText, false); err != nil {
		return err
	}
	if c.Persona, err = checkText("persona", strings.ToLower(c.Persona), maxPersona, false); err != nil {
		return err
	}
	c.foldFieldAttrs()
	if c.Title, err = checkText("title", c.Title, maxText, false); err != nil {
		return err
	}
	if c.Phone, err = checkText("phone", c.Phone, maxPhone, false); err != nil {
		return err
	}
	if c.Timezone, err = checkTZ(tz, c.Timezone); err != nil {
		return err
	}
	if c.Locale, err = canonicalLocale(c.Locale); err != nil {
		return err
	}
	switch cs := strings.ToLower(strings.TrimSpace(c.Consent)); cs {
	case "":
		c.Consent = ConsentUnknown
	case ConsentUnknown, ConsentGranted, ConsentWithdrawn:
		c.Consent = cs
	default:
		return invalid("consent", "%q is not one of %s, %s, %s", c.Consent, ConsentGranted, ConsentUnknown, ConsentWithdrawn)
	}
	c.Attrs, err = cleanAttrs(c.Attrs)
	return err
}

func canonicalLocale(l string) (string, error) {
	l = strings.TrimSpace(l)
	if l == "" {
		return "", nil
	}
	lang, region, hasRegion := strings.Cut(strings.ReplaceAll(l, "_", "-"), "-")
	norm := strings.ToLower(lang)
	if hasRegion {
		norm += "-" + strings.ToUpper(region)
	}
	if !localeRE.MatchString(norm) {
		return "", invalid("locale", "%q is not a language code like fr or fr-FR", l)
	}
	return norm, nil
}

// Validate checks the rep and normalises it in place (trimmed fields,
// lower-cased email, regions de-duplicated, OutOfOfficeUntil in UTC and
// whole milliseconds, as stored).
// Errors name the field and wrap ErrInvalid.
func (r *Rep) Validate() error { return r.validate() }

func (r *Rep) validate() error {
	var err error
	r.ID = strings.TrimSpace(r.ID)
	if err = checkID("id", r.ID, true); err != nil {
		return err
	}
	if r.Name, err = checkText("name", r.Name, maxText, true); err != nil {
		return err
	}
	if r.Email, err = checkEmail("email", r.Email); err != nil {
		return err
	}
	if r.Phone, err = checkText("phone", r.Phone, maxPhone, false); err != nil {
		return err
	}
	if r.Signature, err = checkMultiline("signature", r.Signature, maxSignature, false); err != nil {
		return err
	}
	if r.Regions, err = cleanList("regions", r.Regions); err != nil {
		return err
	}
	if r.DailyCapacity < 0 || r.DailyCapacity > maxCapacity {
		return invalid("daily_capacity", "%d is outside 0..%d", r.DailyCapacity, maxCapacity)
	}
	if r.OutOfOfficeUntil != nil {
		if r.OutOfOfficeUntil.IsZero() {
			r.OutOfOfficeUntil = nil
		} else {
			t := r.OutOfOfficeUntil.UTC().Truncate(time.Millisecond) // stored in ms
			r.OutOfOfficeUntil = &t
		}
	}
	r.ManagerID = strings.TrimSpace(r.ManagerID)
	if err = checkID("manager_id", r.ManagerID, false); err != nil {
		return err
	}
	if r.ManagerID == r.ID {
		return invalid("manager_id", "a rep cannot be their own manager")
	}
	r.Attrs, err = cleanAttrs(r.Attrs)
	return err
}
