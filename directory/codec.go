package directory

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A record is stored as one Redis string:
//
//	<created> SP <updated> SP <body>
//
// with the times in unix milliseconds, base 36 (8 digits until 2059). The
// ids are not in the body: they are in the key. One string per record is
// the smallest form Redis keeps (a hash whose body exceeds
// hash-max-listpack-value becomes a full hashtable), and bodies compare
// byte for byte, which is how an upsert sees that nothing changed: every
// encoding below is canonical, equal records give equal bodies.
//
// Partner and rep bodies are JSON with short names and empty fields left
// out (encoding/json writes struct fields in order and map keys sorted).
// Contacts are the bulk of the data, so their body is positional: fields
// joined by US (0x1f) in contactFields order, attributes as JSON, trailing
// empty fields cut. Validation refuses control characters in contact text
// and JSON escapes them, so no field can hold the separator. A field added
// later goes at the end; older bodies just lack it.

type partnerDoc struct {
	Name    string            `json:"n"`
	Type    string            `json:"t,omitempty"`
	Tier    string            `json:"ti,omitempty"`
	Region  string            `json:"r,omitempty"`
	Country string            `json:"co,omitempty"`
	TZ      string            `json:"z,omitempty"`
	Owner   string            `json:"o,omitempty"`
	Phone   string            `json:"ph,omitempty"`
	Web     string            `json:"w,omitempty"`
	Tags    []string          `json:"g,omitempty"`
	Attrs   map[string]string `json:"a,omitempty"`
	Joined  string            `json:"j,omitempty"`
	Left    string            `json:"l,omitempty"`
}

type repDoc struct {
	Name      string            `json:"n"`
	Email     string            `json:"e"`
	Phone     string            `json:"ph,omitempty"`
	Signature string            `json:"s,omitempty"`
	Regions   []string          `json:"r,omitempty"`
	Capacity  int               `json:"cap,omitempty"`
	Active    bool              `json:"act,omitempty"`
	OOOUntil  int64             `json:"ooo,omitempty"` // unix ms
	Manager   string            `json:"m,omitempty"`
	Attrs     map[string]string `json:"a,omitempty"`
}

// stored is a decoded record value.
// stamp formats a time as stored: unix ms in base 36.
func stamp(ms int64) string { return strconv.FormatInt(ms, 36) }

type stored struct {
	created, updated time.Time
	body             string
}

func parseStored(v string) (stored, error) {
	c, rest, ok1 := strings.Cut(v, " ")
	u, body, ok2 := strings.Cut(rest, " ")
	cms, err1 := strconv.ParseInt(c, 36, 64)
	ums, err2 := strconv.ParseInt(u, 36, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		return stored{}, fmt.Errorf("directory: malformed record %.40q", v)
	}
	return stored{created: time.UnixMilli(cms).UTC(), updated: time.UnixMilli(ums).UTC(), body: body}, nil
}

func (p *Partner) body() string {
	return mustJSON(partnerDoc{
		Name: p.Name, Type: p.Type, Tier: p.Tier, Region: p.Region, Country: p.Country,
		TZ: p.Timezone, Owner: p.OwnerRepID, Phone: p.Phone, Web: p.Website, Tags: p.Tags, Attrs: p.Attrs,
		Joined: p.JoinedAt, Left: p.LeftAt,
	})
}

func decodePartner(id, v string) (Partner, error) {
	st, err := parseStored(v)
	if err != nil {
		return Partner{}, err
	}
	var d partnerDoc
	if err := json.Unmarshal([]byte(st.body), &d); err != nil {
		return Partner{}, fmt.Errorf("directory: partner %q: %w", id, err)
	}
	return Partner{
		ID: id, Name: d.Name, Type: d.Type, Tier: d.Tier, Region: d.Region, Country: d.Country,
		Timezone: d.TZ, OwnerRepID: d.Owner, Phone: d.Phone, Website: d.Web, Tags: d.Tags, Attrs: d.Attrs,
		UpdatedAt: st.updated,
		JoinedAt:  d.Joined, LeftAt: d.Left,
	}, nil
}

// contactSep separates the fields of a contact body.
const contactSep = "\x1f"

// The positions of the fields of a contact body. Append only.
const (
	cfEmail = iota
	cfFirst
	cfLast
	cfPersona
	cfTimezone
	cfLocale
	cfConsent // empty for ConsentUnknown, the common case
	cfAttrs   // JSON object, empty when there are none
	cfTitle
	cfPhone
	contactFields
)

func (c *Contact) body() string {
	consent := c.Consent
	if consent == ConsentUnknown {
		consent = ""
	}
	var attrs string
	if len(c.Attrs) > 0 {
		attrs = mustJSON(c.Attrs)
	}
	f := [contactFields]string{c.Email, c.FirstName, c.LastName, c.Persona, c.Timezone, c.Locale, consent, attrs, c.Title, c.Phone}
	n := len(f)
	for n > 1 && f[n-1] == "" {
		n--
	}
	return strings.Join(f[:n], contactSep)
}

func decodeContact(pid, cid, v string) (Contact, error) {
	st, err := parseStored(v)
	if err != nil {
		return Contact{}, err
	}
	var f [contactFields]string
	parts := strings.Split(st.body, contactSep)
	copy(f[:], parts)
	c := Contact{
		ID: cid, PartnerID: pid, Email: f[cfEmail], FirstName: f[cfFirst], LastName: f[cfLast],
		Persona: f[cfPersona], Timezone: f[cfTimezone], Locale: f[cfLocale], Consent: f[cfConsent],
		Title: f[cfTitle], Phone: f[cfPhone],
		CreatedAt: st.created, UpdatedAt: st.updated,
	}
	if c.Consent == "" {
		c.Consent = ConsentUnknown
	}
	if f[cfAttrs] != "" {
		if err := json.Unmarshal([]byte(f[cfAttrs]), &c.Attrs); err != nil {
			return Contact{}, fmt.Errorf("directory: contact %q: attrs: %w", cid, err)
		}
		// Stored before phone and title were fields: read them as fields.
		c.foldFieldAttrs()
		if len(c.Attrs) == 0 {
			c.Attrs = nil
		}
	}
	return c, nil
}

func (r *Rep) body() string {
	d := repDoc{
		Name: r.Name, Email: r.Email, Phone: r.Phone, Signature: r.Signature, Regions: r.Regions,
		Capacity: r.DailyCapacity, Active: r.Active, Manager: r.ManagerID, Attrs: r.Attrs,
	}
	if r.OutOfOfficeUntil != nil {
		d.OOOUntil = r.OutOfOfficeUntil.UnixMilli()
	}
	return mustJSON(d)
}

func decodeRep(id, v string) (Rep, error) {
	st, err := parseStored(v)
	if err != nil {
		return Rep{}, err
	}
	var d repDoc
	if err := json.Unmarshal([]byte(st.body), &d); err != nil {
		return Rep{}, fmt.Errorf("directory: rep %q: %w", id, err)
	}
	r := Rep{
		ID: id, Name: d.Name, Email: d.Email, Phone: d.Phone, Signature: d.Signature,
		Regions: d.Regions, DailyCapacity: d.Capacity, Active: d.Active, ManagerID: d.Manager,
		Attrs: d.Attrs, UpdatedAt: st.updated,
	}
	if d.OOOUntil != 0 {
		t := time.UnixMilli(d.OOOUntil).UTC()
		r.OutOfOfficeUntil = &t
	}
	return r, nil
}

// mustJSON encodes the doc structs above, which hold only strings, ints,
// bools, string slices and string maps: Marshal cannot fail on them.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("directory: encode %T: %v", v, err))
	}
	return string(b)
}

// holder is the value of an email index entry: who owns the address.
type holder struct {
	pid, cid string
}

func encodeHolder(pid, cid string) string { return pid + " " + cid }

func parseHolder(v string) (holder, bool) {
	pid, cid, ok := strings.Cut(v, " ")
	if !ok || pid == "" || cid == "" {
		return holder{}, false
	}
	return holder{pid: pid, cid: cid}, true
}
