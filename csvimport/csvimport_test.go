package csvimport

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/directory"
)

// contactsFile generates a contacts CSV of n data rows over the partners
// P000..P(partners-1). Row i sits on line i+2. Every third row has no id,
// so its id is derived from the email. bad maps a line to a replacement
// row.
func contactsFile(n, partners int, bad map[int]string) []byte {
	var b bytes.Buffer
	b.WriteString("id,partner_id,email,first_name,last_name,persona,timezone,locale,crm_id\n")
	zones := []string{"Europe/Paris", "America/New_York", "", "Asia/Tokyo"}
	personas := []string{"technical", "owner-manager", "sales"}
	for i := range n {
		line := i + 2
		if row, ok := bad[line]; ok {
			b.WriteString(row + "\n")
			continue
		}
		id := fmt.Sprintf("c%06d", i)
		if i%3 == 0 {
			id = ""
		}
		fmt.Fprintf(&b, "%s,P%03d,User.%06d@Partner%03d.example,First%d,Last%d,%s,%s,%s,crm-%d\n",
			id, i%partners, i, i%partners, i, i, personas[i%3], zones[i%4], []string{"en", "fr-FR"}[i%2], i)
	}
	return b.Bytes()
}

func (f *fixture) putPartners(t testing.TB, n int) {
	t.Helper()
	for i := range n {
		f.putPartner(t, fmt.Sprintf("P%03d", i))
	}
}

func TestImportContactsTenThousand(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartners(t, 50)
	bad := map[int]string{
		101:  "c-bad1,P001,,No,Email,sales,,,x",
		5002: "c-bad2,P002,tz@partner002.example,Bad,Zone,sales,Mars/Olympus,,x",
		9000: "c-bad3,GHOST,ghost@partner003.example,No,Partner,sales,,,x",
	}
	file := contactsFile(10000, 50, bad)
	wantErrs := []RowError{
		{Line: 101, Reason: "missing email"},
		{Line: 5002, Reason: `invalid timezone: unknown time zone "Mars/Olympus"`},
		{Line: 9000, Reason: `unknown partner "GHOST"`},
	}
	rep, err := Import(f.ctx, f.store, KindContacts, bytes.NewReader(file), Options{Name: "contacts.csv"})
	if err != nil {
		t.Fatal(err)
	}
	want := &Report{Imported: 9997, Rejected: 3, Errors: wantErrs}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Fatalf("first import (-want, +got):\n%s", diff)
	}
	// Spot checks: an explicit id, a derived id, the attrs column.
	c, err := f.store.ContactByEmail(f.ctx, "user.000004@partner004.example")
	if err != nil {
		t.Fatal(err)
	}
	wantC := directory.Contact{ID: "c000004", PartnerID: "P004", Email: "user.000004@partner004.example", FirstName: "First4",
		LastName: "Last4", Persona: "owner-manager", Timezone: "Europe/Paris", Locale: "en", Consent: directory.ConsentUnknown,
		Attrs: map[string]string{"crm_id": "crm-4"}, CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	if diff := cmp.Diff(wantC, c); diff != "" {
		t.Errorf("imported contact (-want, +got):\n%s", diff)
	}
	if c, err := f.store.GetContact(f.ctx, directory.ContactIDFor("user.000003@partner003.example")); err != nil || c.PartnerID != "P003" {
		t.Errorf("derived-id contact: %+v, %v", c, err)
	}
	if n := f.rdb.SCard(f.ctx, "lt:{p:P007}:contacts").Val(); n != 200 {
		t.Errorf("P007 lists %d contacts, want 200", n)
	}
	if n := f.rdb.DBSize(f.ctx).Val(); n != 9997*3+50*2+1 {
		t.Errorf("%d keys, want %d (3 per contact, 2 per partner, the partner set)", n, 9997*3+50*2+1)
	}

	before := f.snapshot(t)
	f.clock.Advance(24 * 3600e9)
	rep2, err := Import(f.ctx, f.store, KindContacts, bytes.NewReader(file), Options{Name: "contacts.csv"})
	if err != nil {
		t.Fatal(err)
	}
	want.Unchanged = 9997
	if diff := cmp.Diff(want, rep2); diff != "" {
		t.Errorf("second import (-want, +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
		t.Errorf("re-import changed Redis (-before, +after):\n%s", diff)
	}
}

func TestImportRowErrorsAndLineNumbers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	if _, _, err := f.store.PutContact(f.ctx, directory.Contact{ID: "owner", PartnerID: "p1", Email: "taken@acme.example"}); err != nil {
		t.Fatal(err)
	}
	file := strings.Join([]string{
		/* 1 */ "id,partner_id,email,first_name,timezone,notes",
		/* 2 */ `c1,p1,a@acme.example,Ann,,"multi`,
		/* 3 */ `line`,
		/* 4 */ `note"`,
		/* 5 */ `c2,p1,,Bob,,missing email`,
		/* 6 */ `c3,p1,b@acme.example,Bo,,"x`,
		/* 7 */ `y"`,
		/* 8 */ `c4,p1,B@acme.example,Dup,,x`,
		/* 9 */ `c5,p1,c@acme.example,Short`,
		/* 10 */ `c6,ghost,d@acme.example,Gus,,x`,
		/* 11 */ `c7,p1,e@acme.example,Eve,,bad"quote`,
		/* 12 */ `c8,p1,Taken@acme.example,T,,x`,
		/* 13 */ `c9,p1,not-an-email,N,,x`,
		/* 14 */ `c1,p1,f@acme.example,Dup id,,x`,
		/* 15 */ `c10,p1,g@acme.example,"G, with ""quotes""",Europe/Berlin,"two`,
		/* 16 */ `lines"`,
		/* 17 */ `c11,p1,h@acme.example,H,Moon/Base,x`,
		/* 18 */ `c:12,p1,i@acme.example,I,,x`,
		/* 19 */ `c13,p1,j@acme.example,J,,x,extra`,
		/* 20 */ `c14,p1,k@acme.example,"K`,
		/* 21 */ `L",,x`,
	}, "\n") + "\n"
	// Batches of 3 so the checks that span batches (duplicates, known
	// partners) are exercised too.
	rep, err := Import(f.ctx, f.store, KindContacts, strings.NewReader(file), Options{Name: "c.csv", BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	wantLines := map[int]string{
		5:  "missing email",
		8:  "duplicate email (also on line 6)",
		9:  "wrong number of fields: 4, header has 6",
		10: `unknown partner "ghost"`,
		11: `bare " in non-quoted-field`,
		12: `email already belongs to contact "owner"`,
		13: "invalid email",
		14: `duplicate id "c1" (also on line 2)`,
		17: `unknown time zone "Moon/Base"`,
		18: "invalid id",
		19: "wrong number of fields: 7, header has 6",
		20: "invalid first_name: contains control characters",
	}
	if len(rep.Errors) != len(wantLines) {
		t.Errorf("got %d errors, want %d: %+v", len(rep.Errors), len(wantLines), rep.Errors)
	}
	for _, e := range rep.Errors {
		w, ok := wantLines[e.Line]
		if !ok || !strings.Contains(e.Reason, w) {
			t.Errorf("line %d: reason %q, want %q", e.Line, e.Reason, w)
		}
	}
	if rep.Imported != 3 || rep.Rejected != 12 || rep.Unchanged != 0 {
		t.Errorf("report = %+v, want 3 imported, 12 rejected", rep)
	}
	for id, want := range map[string][2]string{
		"c1":  {"Ann", "multi\nline\nnote"},
		"c3":  {"Bo", "x\ny"},
		"c10": {`G, with "quotes"`, "two\nlines"},
	} {
		c, err := f.store.GetContact(f.ctx, id)
		if err != nil || c.FirstName != want[0] || c.Attrs["notes"] != want[1] {
			t.Errorf("contact %s = %+v, %v; want first name %q, notes %q", id, c, err, want[0], want[1])
		}
	}
}

func TestImportFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		kind  Kind
		file  string
		field string
	}{
		{"contacts without email", KindContacts, "id,partner_id,first_name\nc1,p1,Ann\n", "email"},
		{"partners without name", KindPartners, "id,type\np1,VAR\n", "name"},
		{"reps without id", KindReps, "name,email\nAnn,ann@v.example\n", "id"},
		{"duplicate column", KindContacts, "email,Email\na@b.example,a@b.example\n", "email"},
		{"empty file", KindContacts, "", "header"},
		{"unreadable header", KindContacts, "\"email\n", "header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			rep, err := Import(f.ctx, f.store, tc.kind, strings.NewReader(tc.file), Options{Name: "in.csv"})
			checkFieldErr(t, err, tc.field)
			if rep != nil {
				t.Errorf("report %+v returned with a file error", rep)
			}
			if !strings.HasPrefix(err.Error(), "in.csv: ") || (tc.field != "header" && !strings.Contains(err.Error(), `"`+tc.field+`"`)) {
				t.Errorf("error %q should name the file and the column", err)
			}
			if n := f.rdb.DBSize(f.ctx).Val(); n != 0 {
				t.Errorf("file error left %d keys", n)
			}
		})
	}
	f := setup(t)
	if _, err := Import(f.ctx, f.store, "deals", strings.NewReader("id\n"), Options{}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("unknown kind: %v", err)
	}
	rep, err := Import(f.ctx, f.store, KindContacts, strings.NewReader("\ufeffEmail\n"), Options{})
	if err != nil || rep.Imported != 0 {
		t.Errorf("header-only file with BOM: %+v, %v", rep, err)
	}
}

func TestImportPartnerProgramDates(t *testing.T) {
	t.Parallel()
	f := setup(t)
	in := strings.Join([]string{
		"id,name,joined_at,left_at",
		"p1,Acme,2025-03-01,",
		"p2,Globex,2024-01-15T09:00:00+01:00,2026-01-31",
		"p3,Initech,15/01/2024,",
		"p4,Hooli,2025-03-01,2025-01-01",
	}, "\n")
	rep, err := Import(f.ctx, f.store, KindPartners, strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := &Report{Imported: 2, Rejected: 2, Errors: []RowError{
		{Line: 4, Reason: `invalid joined_at: "15/01/2024" is not a date (YYYY-MM-DD) or an RFC 3339 time`},
		{Line: 5, Reason: `invalid left_at: 2025-01-01 is before joined_at 2025-03-01`},
	}}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("report (-want, +got):\n%s", diff)
	}
	for id, dates := range map[string][2]string{"p1": {"2025-03-01", ""}, "p2": {"2024-01-15T08:00:00Z", "2026-01-31"}} {
		p, err := f.store.GetPartner(f.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]string{p.JoinedAt, p.LeftAt}; got != dates {
			t.Errorf("%s: joined_at, left_at = %q, want %q", id, got, dates)
		}
	}
}

func TestImportPartnersAndReps(t *testing.T) {
	t.Parallel()
	f := setup(t)
	partners := strings.Join([]string{
		"ID,Name,Type,Tier,Region,Country,Timezone,Owner_Rep_ID,Tags,CRM ID",
		"p1,Acme,var,gold,EMEA,FR,Europe/Paris,r1,cloud;security|storage,001",
		"p2,Globex,reseller,,,,,,,",
		"p3,,MSP,,,,,,,",
		"p4,Initech,msp,,,,Mars/Base,,,",
		"p5,Hooli,,,,,,,,",
	}, "\n")
	rep, err := Import(f.ctx, f.store, KindPartners, strings.NewReader(partners), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantRep := &Report{Imported: 2, Rejected: 3, Errors: []RowError{
		{Line: 3, Reason: `invalid type: "reseller" is not one of VAR, MSP, SI, ISV, hoster, training, wholesaler, consulting, alliance`},
		{Line: 4, Reason: "missing name"},
		{Line: 5, Reason: `invalid timezone: unknown time zone "Mars/Base"`},
	}}
	if diff := cmp.Diff(wantRep, rep); diff != "" {
		t.Errorf("partners report (-want, +got):\n%s", diff)
	}
	p, err := f.store.GetPartner(f.ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	wantP := directory.Partner{ID: "p1", Name: "Acme", Type: "VAR", Tier: "gold", Region: "EMEA", Country: "FR",
		Timezone: "Europe/Paris", OwnerRepID: "r1", Tags: []string{"cloud", "security", "storage"},
		Attrs: map[string]string{"crm id": "001"}, UpdatedAt: f.clock.Now()}
	if diff := cmp.Diff(wantP, p); diff != "" {
		t.Errorf("imported partner (-want, +got):\n%s", diff)
	}
	before := f.snapshot(t)
	rep, err = Import(f.ctx, f.store, KindPartners, strings.NewReader(partners), Options{})
	if err != nil || rep.Imported != 2 || rep.Unchanged != 2 {
		t.Errorf("partners re-import: %+v, %v", rep, err)
	}
	if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
		t.Errorf("partners re-import changed Redis (-before, +after):\n%s", diff)
	}

	reps := strings.Join([]string{
		"id,name,email,phone,regions,daily_capacity,active,team",
		"r1,Ann,Ann@Vendor.example,+33 1 23,EMEA;APAC,10,yes,north",
		"r2,Bob,bob@vendor.example,,,,,",
		"r3,Cy,cy@vendor.example,,,x,no,",
		"r4,Di,di@vendor.example,,,5,maybe,",
		"r5,Ed,ed@vendor.example,,,5,0,",
		"r6,Fay,fay,,,5,0,",
	}, "\n")
	rep, err = Import(f.ctx, f.store, KindReps, strings.NewReader(reps), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 3 || rep.Rejected != 3 {
		t.Errorf("reps report = %+v", rep)
	}
	for i, w := range []struct {
		line  int
		field string
	}{{4, "daily_capacity"}, {5, "active"}, {7, "email"}} {
		if i >= len(rep.Errors) || rep.Errors[i].Line != w.line || !strings.Contains(rep.Errors[i].Reason, w.field) {
			t.Errorf("reps error %d = %+v, want line %d naming %s", i, rep.Errors, w.line, w.field)
		}
	}
	got, err := f.store.ListReps(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []directory.Rep{
		{ID: "r1", Name: "Ann", Email: "ann@vendor.example", Phone: "+33 1 23", Regions: []string{"EMEA", "APAC"},
			DailyCapacity: 10, Active: true, Attrs: map[string]string{"team": "north"}, UpdatedAt: f.clock.Now()},
		{ID: "r2", Name: "Bob", Email: "bob@vendor.example", Active: true, UpdatedAt: f.clock.Now()},
		{ID: "r5", Name: "Ed", Email: "ed@vendor.example", DailyCapacity: 5, UpdatedAt: f.clock.Now()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("imported reps (-want, +got):\n%s", diff)
	}
}

func TestImportKeepsFieldsTheFileLacks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	if _, _, err := f.store.PutContact(f.ctx, directory.Contact{ID: "c1", PartnerID: "p1", Email: "a@acme.example",
		FirstName: "A", Persona: "sales", Consent: directory.ConsentWithdrawn, Attrs: map[string]string{"src": "crm"}}); err != nil {
		t.Fatal(err)
	}
	// No id, no partner_id, no consent column: the contact is found by
	// email and keeps its partner, persona and withdrawn consent.
	rep, err := Import(f.ctx, f.store, KindContacts, strings.NewReader("email,first_name,score_band\nA@acme.example,Alice,high\n"), Options{})
	if err != nil || rep.Imported != 1 || rep.Unchanged != 0 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	c, err := f.store.GetContact(f.ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := directory.Contact{ID: "c1", PartnerID: "p1", Email: "a@acme.example", FirstName: "Alice", Persona: "sales",
		Consent: directory.ConsentWithdrawn, Attrs: map[string]string{"src": "crm", "score_band": "high"},
		CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("merged contact (-want, +got):\n%s", diff)
	}
}

func TestImportMovesAndRenames(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartner(t, "p1")
	f.putPartner(t, "p2")
	first := "id,partner_id,email\nc1,p1,a@acme.example\nc2,p1,b@acme.example\n"
	if rep, err := Import(f.ctx, f.store, KindContacts, strings.NewReader(first), Options{}); err != nil || rep.Imported != 2 {
		t.Fatalf("first import: %+v, %v", rep, err)
	}
	// c1 moves to p2; c2 changes address.
	second := "id,partner_id,email\nc1,p2,a@acme.example\nc2,p1,b2@acme.example\n"
	rep, err := Import(f.ctx, f.store, KindContacts, strings.NewReader(second), Options{})
	if err != nil || rep.Imported != 2 || rep.Unchanged != 0 || rep.Rejected != 0 {
		t.Fatalf("second import: %+v, %v", rep, err)
	}
	want := []string{
		"lt:cid:c1", "lt:cid:c2", "lt:email:a@acme.example", "lt:email:b2@acme.example", "lt:partners",
		"lt:{p:p1}:c:c2", "lt:{p:p1}:contacts", "lt:{p:p1}:partner",
		"lt:{p:p2}:c:c1", "lt:{p:p2}:contacts", "lt:{p:p2}:partner",
	}
	if diff := cmp.Diff(want, f.keys(t)); diff != "" {
		t.Errorf("keys (-want, +got):\n%s", diff)
	}
	if c, err := f.store.ContactByEmail(f.ctx, "a@acme.example"); err != nil || c.PartnerID != "p2" {
		t.Errorf("moved contact: %+v, %v", c, err)
	}
	if rep, err := Import(f.ctx, f.store, KindContacts, strings.NewReader(second), Options{}); err != nil || rep.Unchanged != 2 {
		t.Errorf("repeat: %+v, %v", rep, err)
	}
}

func TestImportProgress(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.putPartners(t, 5)
	var calls []int
	rep, err := Import(f.ctx, f.store, KindContacts, bytes.NewReader(contactsFile(250, 5, nil)),
		Options{BatchSize: 100, Progress: func(n int) { calls = append(calls, n) }})
	if err != nil || rep.Imported != 250 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	if diff := cmp.Diff([]int{100, 200, 250}, calls); diff != "" {
		t.Errorf("progress calls (-want, +got):\n%s", diff)
	}
	calls = nil
	if _, err := Import(f.ctx, f.store, KindContacts, bytes.NewReader(contactsFile(200, 5, nil)),
		Options{BatchSize: 100, Progress: func(n int) { calls = append(calls, n) }}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{100, 200}, calls); diff != "" {
		t.Errorf("progress calls for a whole number of batches (-want, +got):\n%s", diff)
	}
}

// TestMemoryPerContact measures the directory's Redis memory per contact
// with MEMORY USAGE and holds it to budget. The aim is 400 bytes. Records
// and indexes fit in it; the partner's contact set adds about 60-70 bytes
// a member on Redis 7.0, which stores every set of strings as a hashtable
// (7.2 and later keep sets of up to 128 members as compact listpacks, about
// 10 bytes a member), so the total is held to 480 here.
func TestMemoryPerContact(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const partners, contacts = 400, 4000
	f.putPartners(t, partners)
	if _, err := Import(f.ctx, f.store, KindContacts, bytes.NewReader(contactsFile(contacts, partners, nil)), Options{}); err != nil {
		t.Fatal(err)
	}
	var record, email, cid, set, partner int64
	for _, k := range f.keys(t) {
		n, err := f.rdb.MemoryUsage(f.ctx, k, 0).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(k, "lt:email:"):
			email += n
		case strings.HasPrefix(k, "lt:cid:"):
			cid += n
		case strings.Contains(k, ":c:"):
			record += n
		case strings.HasSuffix(k, ":contacts"):
			set += n
		default:
			partner += n
		}
	}
	own := (record + email + cid) / contacts
	total := (record + email + cid + set) / contacts
	t.Logf("bytes per contact: record %d, email index %d, id index %d, set entry %d (%s): %d in all; partner record %d",
		record/contacts, email/contacts, cid/contacts, set/contacts,
		f.rdb.ObjectEncoding(f.ctx, "lt:{p:P001}:contacts").Val(), total, partner/partners)
	if own > 400 {
		t.Errorf("record and indexes take %d bytes per contact, budget 400", own)
	}
	if total > 480 {
		t.Errorf("%d bytes per contact, budget 480", total)
	}
}

// BenchmarkImportContacts imports a 10,000-row contacts file into an empty
// directory ("new") and again over itself ("unchanged").
func BenchmarkImportContacts(b *testing.B) {
	const rows = 10000
	file := contactsFile(rows, 100, nil)
	f := setup(b)
	run := func(b *testing.B, flush bool) {
		for b.Loop() {
			if flush {
				b.StopTimer()
				f.rdb.FlushDB(f.ctx)
				f.fresh(b) // a store that has not seen the unassigned partner yet
				f.putPartners(b, 100)
				b.StartTimer()
			}
			rep, err := Import(f.ctx, f.store, KindContacts, bytes.NewReader(file), Options{})
			if err != nil || rep.Imported != rows {
				b.Fatalf("import: %+v, %v", rep, err)
			}
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("new", func(b *testing.B) { run(b, true) })
	b.Run("unchanged", func(b *testing.B) { run(b, false) })
}
