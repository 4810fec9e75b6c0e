package directory

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/ident"
)

// checkFieldErr asserts err is a FieldError for field (or nil when field
// is empty).
func checkFieldErr(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("error = %v, want a FieldError wrapping ErrInvalid", err)
	}
	if fe.Field != field {
		t.Fatalf("error names field %q (%v), want %q", fe.Field, err, field)
	}
}

func TestPartnerValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    Partner
		field string // offending field, "" when valid
		want  Partner
	}{
		{
			name: "normalised",
			in: Partner{ID: " P-1 ", Name: " Acme ", Type: "msp", Timezone: "Europe/Paris",
				Tags: []string{" a ", "", "b", "a"}, Attrs: map[string]string{"size": "10", "empty": ""}},
			want: Partner{ID: "P-1", Name: "Acme", Type: "MSP", Timezone: "Europe/Paris",
				Tags: []string{"a", "b"}, Attrs: map[string]string{"size": "10"}},
		},
		{name: "type keeps lower-case canonical", in: Partner{ID: "p", Name: "n", Type: "HOSTER"}, want: Partner{ID: "p", Name: "n", Type: "hoster"}},
		{name: "missing id", in: Partner{Name: "n"}, field: "id"},
		{name: "id with colon", in: Partner{ID: "a:b", Name: "n"}, field: "id"},
		{name: "id with brace", in: Partner{ID: "a{b}", Name: "n"}, field: "id"},
		{name: "id starting with dot", in: Partner{ID: ".a", Name: "n"}, field: "id"},
		{name: "missing name", in: Partner{ID: "p"}, field: "name"},
		{name: "unknown type", in: Partner{ID: "p", Name: "n", Type: "reseller"}, field: "type"},
		{name: "unknown time zone", in: Partner{ID: "p", Name: "n", Timezone: "Mars/Base"}, field: "timezone"},
		{name: "Local time zone", in: Partner{ID: "p", Name: "n", Timezone: "Local"}, field: "timezone"},
		{name: "bad owner", in: Partner{ID: "p", Name: "n", OwnerRepID: "a b"}, field: "owner_rep_id"},
		{name: "joined on a date, left at a time in UTC",
			in:   Partner{ID: "p", Name: "n", JoinedAt: " 2025-03-01 ", LeftAt: "2026-02-01T10:00:00+02:00"},
			want: Partner{ID: "p", Name: "n", JoinedAt: "2025-03-01", LeftAt: "2026-02-01T08:00:00Z"}},
		{name: "joined not a date", in: Partner{ID: "p", Name: "n", JoinedAt: "01/03/2025"}, field: "joined_at"},
		{name: "joined on no such day", in: Partner{ID: "p", Name: "n", JoinedAt: "2025-02-30"}, field: "joined_at"},
		{name: "joined in a two-digit year", in: Partner{ID: "p", Name: "n", JoinedAt: "0025-03-01"}, field: "joined_at"},
		{name: "left not a date", in: Partner{ID: "p", Name: "n", LeftAt: "soon"}, field: "left_at"},
		{name: "left before joining", in: Partner{ID: "p", Name: "n", JoinedAt: "2025-03-01", LeftAt: "2025-02-28"}, field: "left_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := tc.in
			err := p.Validate()
			checkFieldErr(t, err, tc.field)
			if tc.field == "" {
				if diff := cmp.Diff(tc.want, p); diff != "" {
					t.Errorf("normalised partner (-want, +got):\n%s", diff)
				}
			}
		})
	}
}

func TestPartnerProgramDates(t *testing.T) {
	t.Parallel()
	p := Partner{ID: "p", Name: "n", JoinedAt: "2025-03-01", LeftAt: "2026-02-01T10:00:00+02:00"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Joined(), time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Joined = %v, want %v", got, want)
	}
	if got, want := p.Left(), time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Left = %v, want %v", got, want)
	}
	if !(&Partner{}).Joined().IsZero() {
		t.Error("no join date reads as a time")
	}
	d, err := decodePartner("p", "0 0 "+p.body())
	if err != nil || d.JoinedAt != p.JoinedAt || d.LeftAt != p.LeftAt {
		t.Errorf("stored and read back: %+v, %v", d, err)
	}
}

func TestContactValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    Contact
		field string
		want  Contact
	}{
		{
			name: "normalised",
			in: Contact{Email: "  Jane.Doe@ACME.Example ", FirstName: " Jane ", Persona: "Technical",
				Locale: "fr_fr", Consent: "Granted"},
			want: Contact{Email: "jane.doe@acme.example", FirstName: "Jane", Persona: "technical",
				Locale: "fr-FR", Consent: ConsentGranted},
		},
		{name: "consent defaults to unknown", in: Contact{Email: "a@b.co", Locale: "EN"}, want: Contact{Email: "a@b.co", Locale: "en", Consent: ConsentUnknown}},
		{name: "missing email", in: Contact{ID: "c1"}, field: "email"},
		{name: "invalid email", in: Contact{Email: "not-an-email"}, field: "email"},
		{name: "email without domain dot", in: Contact{Email: "a@b"}, field: "email"},
		{name: "bad id", in: Contact{ID: "c:1", Email: "a@b.co"}, field: "id"},
		{name: "bad partner id", in: Contact{PartnerID: "{p}", Email: "a@b.co"}, field: "partner_id"},
		{name: "unknown time zone", in: Contact{Email: "a@b.co", Timezone: "Europe/Atlantis"}, field: "timezone"},
		{name: "bad locale", in: Contact{Email: "a@b.co", Locale: "french"}, field: "locale"},
		{name: "bad consent", in: Contact{Email: "a@b.co", Consent: "maybe"}, field: "consent"},
		{name: "long first name", in: Contact{Email: "a@b.co", FirstName: string(make([]byte, 300))}, field: "first_name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.in
			err := c.Validate()
			checkFieldErr(t, err, tc.field)
			if tc.field == "" {
				if diff := cmp.Diff(tc.want, c); diff != "" {
					t.Errorf("normalised contact (-want, +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRepValidate(t *testing.T) {
	t.Parallel()
	ooo := time.Date(2026, 12, 24, 18, 0, 0, 123456789, time.FixedZone("CET", 3600))
	oooUTC := time.Date(2026, 12, 24, 17, 0, 0, 123000000, time.UTC)
	tests := []struct {
		name  string
		in    Rep
		field string
		want  Rep
	}{
		{
			name: "normalised",
			in: Rep{ID: "r1", Name: " Ann ", Email: "Ann@Vendor.Example", Regions: []string{"EMEA", " EMEA", "NA"},
				DailyCapacity: 8, OutOfOfficeUntil: &ooo},
			want: Rep{ID: "r1", Name: "Ann", Email: "ann@vendor.example", Regions: []string{"EMEA", "NA"},
				DailyCapacity: 8, OutOfOfficeUntil: &oooUTC},
		},
		{name: "missing email", in: Rep{ID: "r1", Name: "Ann"}, field: "email"},
		{name: "missing name", in: Rep{ID: "r1", Email: "a@b.co"}, field: "name"},
		{name: "negative capacity", in: Rep{ID: "r1", Name: "Ann", Email: "a@b.co", DailyCapacity: -1}, field: "daily_capacity"},
		{name: "own manager", in: Rep{ID: "r1", Name: "Ann", Email: "a@b.co", ManagerID: "r1"}, field: "manager_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := tc.in
			err := r.Validate()
			checkFieldErr(t, err, tc.field)
			if tc.field == "" {
				if diff := cmp.Diff(tc.want, r); diff != "" {
					t.Errorf("normalised rep (-want, +got):\n%s", diff)
				}
			}
		})
	}
}

func TestContactIDFor(t *testing.T) {
	t.Parallel()
	// sha256("jane@acme.example") starts with these 16 hex digits; the id is
	// a wire format (events and CRMs carry it), so it must never drift.
	got := ContactIDFor("jane@acme.example")
	if want := "c_cd5decc91f7ef6fe"; got != want {
		t.Fatalf("ContactIDFor = %q, want %q", got, want)
	}
	if !ident.Valid(got) {
		t.Fatalf("derived id %q is not a valid id", got)
	}
}
