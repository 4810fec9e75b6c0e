package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/internal/redistest"
)

// stateDigest hashes every key and its DUMP, so "changes nothing" is
// checked on the bytes Redis holds.
func stateDigest(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		v, err := rdb.Dump(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s\x00%s\x00", k, v)
	}
	return fmt.Sprintf("%d keys %x", len(keys), h.Sum(nil))
}

func TestImportContactsReportsBadRowsAndIsIdempotent(t *testing.T) {
	t.Parallel()
	opt := redistest.Options(t)
	redisURL := redistest.OptionsURL(opt)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	env := []string{"LONGTAIL_REDIS_URL=" + redisURL}
	dir := t.TempDir()

	partners := filepath.Join(dir, "partners.csv")
	var pb strings.Builder
	pb.WriteString("id,name,type,tier,region,country,timezone,owner_rep_id,tags\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&pb, "p%03d,Partner %d,MSP,silver,emea,FR,Europe/Paris,rep1,smb;cloud\n", i, i)
	}
	if err := os.WriteFile(partners, []byte(pb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"import", "partners", partners}, env, &out, &errOut); err != nil {
		t.Fatalf("import partners: %v\n%s", err, errOut.String())
	}

	// 10,000 data rows; three bad ones at known file lines.
	bad := map[int]string{ // file line → row text
		1502: "c-bad1,p001,,Ann,Lee,technical,Europe/Paris,fr",            // missing email
		4711: "c-bad2,p002,not-an-email,Bob,Ray,sales,Europe/Paris,en",    // invalid email
		9000: "c-bad3,p003,zed@acme.example,Zed,Oz,sales,Mars/Olympus,en", // unknown time zone
	}
	contacts := filepath.Join(dir, "contacts.csv")
	var cb strings.Builder
	cb.WriteString("id,partner_id,email,first_name,last_name,persona,timezone,locale\n")
	var good []string
	for line := 2; line <= 10001; line++ {
		if row, ok := bad[line]; ok {
			cb.WriteString(row + "\n")
			continue
		}
		email := fmt.Sprintf("Person.%d@Partner%d.example", line, line%100)
		good = append(good, email)
		fmt.Fprintf(&cb, ",p%03d, %s ,First%d,Last%d,technical,Europe/Paris,fr\n", line%100, email, line, line)
	}
	if err := os.WriteFile(contacts, []byte(cb.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	importOnce := func() (string, string, error) {
		var out, errOut syncBuffer
		err := run(context.Background(), []string{"import", "contacts", contacts}, env, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	stdout, stderr, err := importOnce()
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("import with bad rows: err = %v, want exit status 1\n%s", err, stderr)
	}
	for line := range bad {
		if !strings.Contains(stderr, fmt.Sprintf("%s:%d:", contacts, line)) {
			t.Errorf("bad line %d not reported; stderr:\n%s", line, stderr)
		}
	}
	if n := len(regexp.MustCompile(regexp.QuoteMeta(contacts)+`:\d+:`).FindAllString(stderr, -1)); n != 3 {
		t.Errorf("%d lines reported, want 3:\n%s", n, stderr)
	}
	if !strings.Contains(stdout, "imported 9997, rejected 3") {
		t.Errorf("summary = %q", stdout)
	}
	// Every good contact is readable by email (case and spaces ignored).
	s := startService(t, env...)
	for _, i := range []int{0, 1, 5000, len(good) - 1} {
		var got struct {
			ID        string `json:"id"`
			Email     string `json:"email"`
			PartnerID string `json:"partner_id"`
		}
		email := good[i]
		if code := s.do(t, http.MethodGet, "/v1/contacts/"+url.PathEscape(strings.ToUpper(email)), "", nil, &got); code != http.StatusOK {
			t.Fatalf("GET contact %s = %d", email, code)
		}
		if got.Email != strings.ToLower(email) || got.PartnerID == "" || got.ID == "" {
			t.Errorf("GET contact %s = %+v", email, got)
		}
	}
	var e struct {
		Error struct{ Code string }
	}
	if code := s.do(t, http.MethodGet, "/v1/contacts/zed@acme.example", "", nil, &e); code != http.StatusNotFound || e.Error.Code != "not_found" {
		t.Errorf("rejected contact lookup = %d %+v, want 404 not_found", code, e)
	}
	s.Stop(t)
	// Taken after serve ran: it runs the contact.created triggers the
	// import queued (nurture's work, not the import's).
	before := stateDigest(t, rdb)

	// Re-import: same report, no byte of Redis changes.
	stdout, _, err = importOnce()
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(stdout, "imported 9997, rejected 3") {
		t.Errorf("second import: %v %q", err, stdout)
	}
	if after := stateDigest(t, rdb); after != before {
		t.Errorf("re-import changed Redis:\nbefore %s\nafter  %s", before, after)
	}
}

func TestImportNeedsRedisURL(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "c.csv")
	if err := os.WriteFile(f, []byte("id,partner_id,email\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"import", "contacts", f}, nil, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "LONGTAIL_REDIS_URL") {
		t.Errorf("import without Redis: %v", err)
	}
}
