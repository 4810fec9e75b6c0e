package directory

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewConfig(t *testing.T) {
	t.Parallel()
	if _, err := New(nil, Config{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	f := setup(t)
	if _, err := New(f.rdb, Config{UnassignedPartnerID: "no:colons"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad UnassignedPartnerID: err = %v, want ErrInvalid", err)
	}
	s, err := New(f.rdb, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.UnassignedPartnerID() != "unassigned" {
		t.Errorf("default unassigned partner = %q", s.UnassignedPartnerID())
	}
}

func TestCRUD(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ooo := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		put  func() (any, error)
		get  func() (any, error)
		want any
	}{
		{
			name: "partner",
			put: func() (any, error) {
				p, _, err := f.store.PutPartner(f.ctx, Partner{ID: "acme", Name: "Acme", Type: "var", Tier: "silver",
					Region: "EMEA", Country: "FR", Timezone: "Europe/Paris", OwnerRepID: "r1",
					Tags: []string{"cloud", "security"}, Attrs: map[string]string{"crm_id": "001"}})
				return p, err
			},
			get: func() (any, error) { return f.store.GetPartner(f.ctx, "acme") },
			want: Partner{ID: "acme", Name: "Acme", Type: "VAR", Tier: "silver", Region: "EMEA", Country: "FR",
				Timezone: "Europe/Paris", OwnerRepID: "r1", Tags: []string{"cloud", "security"},
				Attrs: map[string]string{"crm_id": "001"}, UpdatedAt: f.clock.Now()},
		},
		{
			name: "contact",
			put: func() (any, error) {
				f.putPartner(t, "globex")
				c, _, err := f.store.PutContact(f.ctx, Contact{ID: "c1", PartnerID: "globex", Email: "Jane@Globex.Example",
					FirstName: "Jane", LastName: "Doe", Persona: "technical", Timezone: "America/New_York",
					Locale: "en-US", Consent: "granted", Title: "CTO", Attrs: map[string]string{"crm_id": "42"}})
				return c, err
			},
			get: func() (any, error) { return f.store.GetContact(f.ctx, "c1") },
			want: Contact{ID: "c1", PartnerID: "globex", Email: "jane@globex.example", FirstName: "Jane", LastName: "Doe",
				Persona: "technical", Timezone: "America/New_York", Locale: "en-US", Consent: "granted", Title: "CTO",
				Attrs: map[string]string{"crm_id": "42"}, CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()},
		},
		{
			name: "rep",
			put: func() (any, error) {
				r, _, err := f.store.PutRep(f.ctx, Rep{ID: "r1", Name: "Ann Smith", Email: "ann@vendor.example",
					Phone: "+33 1 23 45 67 89", Signature: "Ann\nChannel team", Regions: []string{"EMEA"},
					DailyCapacity: 12, Active: true, OutOfOfficeUntil: &ooo, ManagerID: "r0"})
				return r, err
			},
			get: func() (any, error) { return f.store.GetRep(f.ctx, "r1") },
			want: Rep{ID: "r1", Name: "Ann Smith", Email: "ann@vendor.example", Phone: "+33 1 23 45 67 89",
				Signature: "Ann\nChannel team", Regions: []string{"EMEA"}, DailyCapacity: 12, Active: true,
				OutOfOfficeUntil: &ooo, ManagerID: "r0", UpdatedAt: f.clock.Now()},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			put, err := tc.put()
			if err != nil {
				t.Fatalf("put: %v", err)
			}
			if diff := cmp.Diff(tc.want, put); diff != "" {
				t.Errorf("put returned (-want, +got):\n%s", diff)
			}
			got, err := tc.get()
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("get returned (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestNotFoundAndInvalid(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"get partner", func() error { _, err := f.store.GetPartner(f.ctx, "nope"); return err }, ErrNotFound},
		{"get contact", func() error { _, err := f.store.GetContact(f.ctx, "nope"); return err }, ErrNotFound},
		{"contact by email", func() error { _, err := f.store.ContactByEmail(f.ctx, "no@one.example"); return err }, ErrNotFound},
		{"get rep", func() error { _, err := f.store.GetRep(f.ctx, "nope"); return err }, ErrNotFound},
		{"contacts of missing partner", func() error { _, err := f.store.ContactsOfPartner(f.ctx, "nope"); return err }, ErrNotFound},
		{"get partner bad id", func() error { _, err := f.store.GetPartner(f.ctx, "a:b"); return err }, ErrInvalid},
		{"contact by bad email", func() error { _, err := f.store.ContactByEmail(f.ctx, "nope"); return err }, ErrInvalid},
		{"put invalid partner", func() error { _, _, err := f.store.PutPartner(f.ctx, Partner{ID: "p"}); return err }, ErrInvalid},
		{"put invalid rep", func() error { _, _, err := f.store.PutRep(f.ctx, Rep{ID: "r"}); return err }, ErrInvalid},
		{"ensure bad email", func() error { _, _, err := f.store.EnsureContact(f.ctx, "x"); return err }, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if keys := f.keys(t); len(keys) != 0 {
		t.Errorf("failed calls wrote keys: %v", keys)
	}
}

func TestPutContactUnknownPartner(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, _, err := f.store.PutContact(f.ctx, Contact{ID: "c1", PartnerID: "ghost", Email: "a@b.example"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"ghost"`) {
		t.Fatalf("err = %v, want ErrNotFound naming the partner", err)
	}
	if keys := f.keys(t); len(keys) != 0 {
		t.Errorf("rejected put wrote keys: %v", keys)
	}
	// No partner at all means the unassigned partner, created on first use.
	c, _, err := f.store.PutContact(f.ctx, Contact{Email: "b@b.example"})
	if err != nil {
		t.Fatal(err)
	}
	if c.PartnerID != "unassigned" || c.ID != ContactIDFor("b@b.example") {
		t.Errorf("contact = %+v, want derived id under unassigned", c)
	}
	p, err := f.store.GetPartner(f.ctx, "unassigned")
	if err != nil || p.Name != "Unassigned" {
		t.Errorf("unassigned partner = %+v, %v", p, err)
	}
}

func TestEmailLookupIsCaseInsensitiveAndTrimmed(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	put, _, err := f.store.PutContact(f.ctx, Contact{ID: "c1", PartnerID: "p1", Email: "  Jane.Doe@Acme.EXAMPLE "})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"jane.doe@acme.example", "JANE.DOE@ACME.EXAMPLE", "\tJane.Doe@acme.example\n"} {
		got, err := f.store.ContactByEmail(f.ctx, q)
		if err != nil {
			t.Fatalf("ContactByEmail(%q): %v", q, err)
		}
		if diff := cmp.Diff(put, got); diff != "" {
			t.Errorf("ContactByEmail(%q) (-want, +got):\n%s", q, diff)
		}
		if got, err := f.store.LookupContact(f.ctx, q); err != nil || got.ID != "c1" {
			t.Errorf("LookupContact(%q) = %+v, %v", q, got, err)
		}
	}
	if got, err := f.store.LookupContact(f.ctx, "c1"); err != nil || got.Email != "jane.doe@acme.example" {
		t.Errorf("LookupContact(id) = %+v, %v", got, err)
	}
}

func TestUpsertIsIdempotent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := Partner{ID: "p1", Name: "Acme", Type: "MSP", Tags: []string{"a"}, Attrs: map[string]string{"k": "v", "x": "y"}}
	c := Contact{ID: "c1", PartnerID: "p1", Email: "a@acme.example", FirstName: "A", Attrs: map[string]string{"z": "1", "b": "2"}}
	r := Rep{ID: "r1", Name: "Ann", Email: "ann@v.example", Active: true, Regions: []string{"EMEA"}}
	put := func() (changed []bool) {
		_, c1, err := f.store.PutPartner(f.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		_, c2, err := f.store.PutContact(f.ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		_, c3, err := f.store.PutRep(f.ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return []bool{c1, c2, c3}
	}
	if got := put(); !cmp.Equal(got, []bool{true, true, true}) {
		t.Fatalf("first put changed = %v", got)
	}
	created := f.clock.Now()
	before := f.snapshot(t)
	f.clock.Advance(time.Hour)
	if got := put(); !cmp.Equal(got, []bool{false, false, false}) {
		t.Fatalf("second put changed = %v, want all false", got)
	}
	if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
		t.Fatalf("identical put changed Redis (-before, +after):\n%s", diff)
	}
	// Spelling differences that normalise to the same record change nothing.
	c2 := c
	c2.Email, c2.Consent = " A@ACME.example", "unknown"
	if _, changed, err := f.store.PutContact(f.ctx, c2); err != nil || changed {
		t.Fatalf("normalised-equal put: changed=%v err=%v", changed, err)
	}
	// A real change moves UpdatedAt, not CreatedAt.
	c.FirstName = "Alice"
	got, changed, err := f.store.PutContact(f.ctx, c)
	if err != nil || !changed {
		t.Fatalf("changed put: changed=%v err=%v", changed, err)
	}
	if !got.UpdatedAt.Equal(f.clock.Now()) || !got.CreatedAt.Equal(created) {
		t.Errorf("after change CreatedAt=%v UpdatedAt=%v, want %v and %v", got.CreatedAt, got.UpdatedAt, created, f.clock.Now())
	}
}

func TestEmailConflict(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	f.putPartner(t, "p2")
	if _, _, err := f.store.PutContact(f.ctx, Contact{ID: "alice", PartnerID: "p1", Email: "x@acme.example"}); err != nil {
		t.Fatal(err)
	}
	before := f.snapshot(t)
	_, _, err := f.store.PutContact(f.ctx, Contact{ID: "bob", PartnerID: "p2", Email: "X@acme.example"})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `"alice"`) || !strings.Contains(err.Error(), `"bob"`) {
		t.Fatalf("err = %v, want ErrConflict naming alice and bob", err)
	}
	if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
		t.Fatalf("conflicting put changed Redis (-before, +after):\n%s", diff)
	}
}

func TestEmailChangeReleasesOldAddress(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	if _, _, err := f.store.PutContact(f.ctx, Contact{ID: "alice", PartnerID: "p1", Email: "old@acme.example"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.PutContact(f.ctx, Contact{ID: "alice", PartnerID: "p1", Email: "new@acme.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.ContactByEmail(f.ctx, "old@acme.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old address still finds a contact: %v", err)
	}
	if c, err := f.store.ContactByEmail(f.ctx, "new@acme.example"); err != nil || c.ID != "alice" {
		t.Errorf("new address: %+v, %v", c, err)
	}
	// The old address is free for someone else now.
	if _, _, err := f.store.PutContact(f.ctx, Contact{ID: "bob", PartnerID: "p1", Email: "old@acme.example"}); err != nil {
		t.Errorf("old address not released: %v", err)
	}
	want := []string{
		"lt:cid:alice", "lt:cid:bob", "lt:email:new@acme.example", "lt:email:old@acme.example", "lt:partners",
		"lt:{p:p1}:c:alice", "lt:{p:p1}:c:bob", "lt:{p:p1}:contacts", "lt:{p:p1}:partner",
	}
	if diff := cmp.Diff(want, f.keys(t)); diff != "" {
		t.Errorf("keys (-want, +got):\n%s", diff)
	}
}

func TestPartnerMove(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	f.putPartner(t, "p2")
	orig, _, err := f.store.PutContact(f.ctx, Contact{ID: "alice", PartnerID: "p1", Email: "a@acme.example", FirstName: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	// Move and change address in one put: the hardest case.
	moved, changed, err := f.store.PutContact(f.ctx, Contact{ID: "alice", PartnerID: "p2", Email: "alice@globex.example", FirstName: "Alice"})
	if err != nil || !changed {
		t.Fatalf("move: changed=%v err=%v", changed, err)
	}
	if moved.PartnerID != "p2" || !moved.CreatedAt.Equal(orig.CreatedAt) || !moved.UpdatedAt.Equal(f.clock.Now()) {
		t.Errorf("moved = %+v; want partner p2, CreatedAt kept, UpdatedAt now", moved)
	}
	for _, q := range []string{"alice", "alice@globex.example"} {
		got, err := f.store.LookupContact(f.ctx, q)
		if err != nil {
			t.Fatalf("lookup %q: %v", q, err)
		}
		if diff := cmp.Diff(moved, got); diff != "" {
			t.Errorf("lookup %q (-want, +got):\n%s", q, diff)
		}
	}
	if _, err := f.store.ContactByEmail(f.ctx, "a@acme.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old address: err = %v, want ErrNotFound", err)
	}
	if cs, err := f.store.ContactsOfPartner(f.ctx, "p1"); err != nil || len(cs) != 0 {
		t.Errorf("old partner still lists %v (%v)", cs, err)
	}
	if cs, err := f.store.ContactsOfPartner(f.ctx, "p2"); err != nil || len(cs) != 1 || cs[0].ID != "alice" {
		t.Errorf("new partner lists %v (%v)", cs, err)
	}
	want := []string{
		"lt:cid:alice", "lt:email:alice@globex.example", "lt:partners",
		"lt:{p:p1}:partner", "lt:{p:p2}:c:alice", "lt:{p:p2}:contacts", "lt:{p:p2}:partner",
	}
	if diff := cmp.Diff(want, f.keys(t)); diff != "" {
		t.Errorf("keys after move, no stale entries expected (-want, +got):\n%s", diff)
	}
	if v := f.rdb.Get(f.ctx, "lt:email:alice@globex.example").Val(); v != "p2 alice" {
		t.Errorf("email index = %q", v)
	}
	// Moving back with the same fields is a change (the partner), then a
	// repeat is not.
	if _, changed, _ := f.store.PutContact(f.ctx, Contact{ID: "alice", PartnerID: "p1", Email: "alice@globex.example", FirstName: "Alice"}); !changed {
		t.Error("move back reported no change")
	}
	if _, changed, _ := f.store.PutContact(f.ctx, Contact{ID: "alice", PartnerID: "p1", Email: "alice@globex.example", FirstName: "Alice"}); changed {
		t.Error("repeat after move reported a change")
	}
}

func TestPutContactWithoutIDUsesOwnerOfEmail(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	if _, _, err := f.store.PutContact(f.ctx, Contact{ID: "crm-42", PartnerID: "p1", Email: "a@acme.example"}); err != nil {
		t.Fatal(err)
	}
	c, _, err := f.store.PutContact(f.ctx, Contact{PartnerID: "p1", Email: "a@acme.example", FirstName: "Ann"})
	if err != nil || c.ID != "crm-42" || c.FirstName != "Ann" {
		t.Fatalf("put without id = %+v, %v; want crm-42 updated", c, err)
	}
}

func TestEnsureContactRace(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const n = 20
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]Contact, n)
	created := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Each caller spells the address differently.
			email := "New.Lead@Prospect.example"
			if i%2 == 1 {
				email = " new.lead@prospect.EXAMPLE"
			}
			results[i], created[i], errs[i] = f.store.EnsureContact(f.ctx, email)
		}()
	}
	close(start)
	wg.Wait()
	nCreated := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if created[i] {
			nCreated++
		}
		if diff := cmp.Diff(results[0], results[i]); diff != "" {
			t.Errorf("caller %d got another contact (-first, +this):\n%s", i, diff)
		}
	}
	if nCreated != 1 {
		t.Errorf("%d callers report created, want exactly 1", nCreated)
	}
	c := results[0]
	if c.ID != ContactIDFor("new.lead@prospect.example") || c.PartnerID != "unassigned" || c.Email != "new.lead@prospect.example" {
		t.Errorf("contact = %+v", c)
	}
	cs, err := f.store.ContactsOfPartner(f.ctx, "unassigned")
	if err != nil || len(cs) != 1 {
		t.Fatalf("unassigned holds %d contacts (%v), want 1", len(cs), err)
	}
	if got, created, err := f.store.EnsureContact(f.ctx, "new.lead@prospect.example"); err != nil || created || got.ID != c.ID {
		t.Errorf("later ensure = %+v, created=%v, %v", got, created, err)
	}
}

func TestEnsureContactFindsExisting(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	put, _, err := f.store.PutContact(f.ctx, Contact{ID: "crm-7", PartnerID: "p1", Email: "known@acme.example", Persona: "sales"})
	if err != nil {
		t.Fatal(err)
	}
	got, created, err := f.store.EnsureContact(f.ctx, "Known@Acme.example")
	if err != nil || created {
		t.Fatalf("ensure: created=%v err=%v", created, err)
	}
	if diff := cmp.Diff(put, got); diff != "" {
		t.Errorf("ensure (-want, +got):\n%s", diff)
	}
	if _, err := f.store.GetPartner(f.ctx, "unassigned"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unassigned partner created needlessly: %v", err)
	}
}

func TestEnsureContactRepairsInterruptedCreate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	// A caller claimed the address and crashed before writing the record.
	cid := ContactIDFor("late@acme.example")
	f.rdb.Set(f.ctx, "lt:email:late@acme.example", "unassigned "+cid, 0)
	if _, err := f.store.ContactByEmail(f.ctx, "late@acme.example"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("half-created contact is visible: %v", err)
	}
	c, created, err := f.store.EnsureContact(f.ctx, "late@acme.example")
	if err != nil || !created || c.ID != cid {
		t.Fatalf("ensure = %+v, created=%v, %v", c, created, err)
	}
	if got, err := f.store.GetContact(f.ctx, cid); err != nil || got.Email != "late@acme.example" {
		t.Errorf("get after repair: %+v, %v", got, err)
	}
}

func TestScriptsSurviveScriptFlush(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	// A restarted or failed-over Redis has no scripts cached.
	if err := f.rdb.ScriptFlush(f.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.PutContact(f.ctx, Contact{ID: "c1", PartnerID: "p1", Email: "a@acme.example"}); err != nil {
		t.Fatalf("put after SCRIPT FLUSH: %v", err)
	}
}

func TestPartnerIDs(t *testing.T) {
	t.Parallel()
	f := setup(t)
	want := map[string]bool{}
	pipe := f.rdb.Pipeline()
	// More than one SSCAN page, and past the small-set encodings.
	for i := range 2500 {
		id := fmt.Sprintf("p%05d", i)
		want[id] = true
		pipe.SAdd(f.ctx, partnersKey, id)
	}
	if _, err := pipe.Exec(f.ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for id, err := range f.store.PartnerIDs(f.ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if got[id] {
			t.Fatalf("partner %s yielded twice", id)
		}
		got[id] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("partner ids (-want, +got):\n%s", diff)
	}
	n := 0
	for range f.store.PartnerIDs(f.ctx) {
		if n++; n == 10 {
			break // stopping early must not panic
		}
	}
	if c, err := f.store.CountPartners(f.ctx); err != nil || c != 2500 {
		t.Errorf("CountPartners = %d, %v", c, err)
	}
}

func TestListRepsAndContactsOfPartner(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, id := range []string{"r3", "r1", "r2"} {
		if _, _, err := f.store.PutRep(f.ctx, Rep{ID: id, Name: "Rep " + id, Email: id + "@vendor.example"}); err != nil {
			t.Fatal(err)
		}
	}
	reps, err := f.store.ListReps(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range reps {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]string{"r1", "r2", "r3"}, ids); diff != "" {
		t.Errorf("ListReps ids (-want, +got):\n%s", diff)
	}
	f.putPartner(t, "p1")
	for i := range 700 { // beyond one SSCAN page
		if _, _, err := f.store.PutContact(f.ctx, Contact{ID: fmt.Sprintf("c%03d", i), PartnerID: "p1", Email: fmt.Sprintf("u%d@acme.example", i)}); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := f.store.ContactsOfPartner(f.ctx, "p1")
	if err != nil || len(cs) != 700 || cs[0].ID != "c000" || cs[699].ID != "c699" {
		t.Fatalf("ContactsOfPartner: %d contacts, %v", len(cs), err)
	}
}

func TestKeysShareThePartnerSlot(t *testing.T) {
	t.Parallel()
	if got := PartnerTag("acme"); got != "{p:acme}" {
		t.Fatalf("PartnerTag = %q", got)
	}
	for _, k := range []string{partnerKey("acme"), contactKey("acme", "c1"), partnerContactsKey("acme")} {
		if !strings.HasPrefix(k, "lt:{p:acme}:") {
			t.Errorf("key %q is not under lt:{p:acme}:", k)
		}
	}
}

func TestPutContactRaceForOneAddress(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	const n = 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, errs[i] = f.store.PutContact(f.ctx, Contact{ID: fmt.Sprintf("c%d", i), PartnerID: "p1", Email: "shared@acme.example"})
		}()
	}
	close(start)
	wg.Wait()
	ok, winner := 0, ""
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			winner = fmt.Sprintf("c%d", i)
		case !errors.Is(err, ErrConflict):
			t.Errorf("writer %d: %v, want nil or ErrConflict", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d writers got the address, want exactly 1", ok)
	}
	if n := f.rdb.SCard(f.ctx, partnerContactsKey("p1")).Val(); n != 1 {
		t.Errorf("partner lists %d contacts, want 1", n)
	}
	if c, err := f.store.ContactByEmail(f.ctx, "shared@acme.example"); err != nil || c.ID != winner {
		t.Errorf("address leads to %+v, %v; want the winner %s", c, err, winner)
	}
}

func TestStaleEmailIndexReadsAsNotFound(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	if _, _, err := f.store.PutContact(f.ctx, Contact{ID: "alice", PartnerID: "p1", Email: "new@acme.example"}); err != nil {
		t.Fatal(err)
	}
	// A crash after an email change, before the old entry was released.
	f.rdb.Set(f.ctx, "lt:email:old@acme.example", "p1 alice", 0)
	if c, err := f.store.ContactByEmail(f.ctx, "old@acme.example"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stale entry finds %+v, %v", c, err)
	}
	c, created, err := f.store.EnsureContact(f.ctx, "old@acme.example")
	if err != nil || !created || c.ID != ContactIDFor("old@acme.example") {
		t.Fatalf("ensure over a stale entry = %+v, created=%v, %v", c, created, err)
	}
	if got, err := f.store.ContactByEmail(f.ctx, "new@acme.example"); err != nil || got.ID != "alice" {
		t.Errorf("alice lost her address: %+v, %v", got, err)
	}
}

func TestCrashLeftoverDoesNotBlockAnAddress(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	// alice claimed the address and crashed before writing her record.
	f.rdb.Set(f.ctx, "lt:email:left@acme.example", "p1 alice", 0)
	c, _, err := f.store.PutContact(f.ctx, Contact{ID: "bob", PartnerID: "p1", Email: "left@acme.example"})
	if err != nil || c.ID != "bob" {
		t.Fatalf("put over a leftover claim = %+v, %v", c, err)
	}
	if got, err := f.store.ContactByEmail(f.ctx, "left@acme.example"); err != nil || got.ID != "bob" {
		t.Errorf("address leads to %+v, %v; want bob", got, err)
	}
}
