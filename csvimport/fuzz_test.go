package csvimport_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/longtailhq/longtail/csvimport"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/internal/redistest"
)

// FuzzImportContacts feeds arbitrary CSV to the contacts import: it never
// panics, never loses a row (every data row is imported or rejected), and
// every rejection names a line inside the file.
func FuzzImportContacts(f *testing.F) {
	f.Add([]byte("id,partner_id,email,first_name,last_name,persona,timezone,locale\n,p1,a@b.example,A,B,technical,Europe/Paris,fr\n"))
	f.Add([]byte("email,partner_id\n\"multi\nline@x.example\",p1\nbad,p1\n"))
	f.Add([]byte("email\n,,,\n\"unterminated\n"))
	f.Add([]byte("partner_id,email,extra\np1,c@d.example,x\np2,e@f.example\n"))
	rdb := redistest.New(f)
	s, err := directory.New(rdb, directory.Config{})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := s.PutPartner(ctx, directory.Partner{ID: "p1", Name: "P1"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := csvimport.Import(ctx, s, csvimport.KindContacts, bytes.NewReader(data), csvimport.Options{Name: "fuzz.csv"})
		if err != nil {
			return // a file-level error (no header, missing column) is a clean refusal
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, e := range rep.Errors {
			if e.Line < 2 || e.Line > lines {
				t.Fatalf("rejection at line %d of a %d-line file: %s", e.Line, lines, e.Reason)
			}
			if e.Reason == "" {
				t.Fatalf("rejection at line %d without a reason", e.Line)
			}
		}
		if rep.Rejected != len(rep.Errors) {
			t.Fatalf("rejected %d but %d errors reported", rep.Rejected, len(rep.Errors))
		}
	})
}
