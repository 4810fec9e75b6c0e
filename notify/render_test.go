package notify_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/notify"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func renderer(t *testing.T) *notify.Renderer {
	t.Helper()
	r, err := notify.NewRenderer()
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	return r
}

func sampleHandoff(locale string) notify.Handoff {
	return notify.Handoff{
		RepID: "rep-7", RepName: "Camille Martin", RepEmail: "camille.martin@vendor.example", Locale: locale,
		PartnerID: "acme", PartnerName: "Acme Networks",
		ContactName: "Jane Doe", ContactEmail: "jane@acme.example", ContactPhone: "+33 1 23 45 67 89", Persona: "technical",
		Score: 42.4, Segment: "potential",
		Reasons: []string{
			"Clicked “Deal registration in 3 steps” (email, 2 days ago)",
			"Spent 6 minutes on /products/security",
			"Attended the webinar “Zero trust for MSPs”",
		},
		QueuedAt: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		DueAt:    time.Date(2026, 11, 3, 17, 30, 0, 0, time.UTC),
		PageURL:  "https://longtail.vendor.example/ui/partners/acme?from=email&rep=rep-7",
	}
}

func golden(t *testing.T, name string, got string) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want, +got):\n%s", p, diff)
	}
}

func TestRenderHandoffGolden(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	for _, locale := range []string{"en", "fr"} {
		t.Run(locale, func(t *testing.T) {
			t.Parallel()
			e, err := r.RenderHandoff(sampleHandoff(locale))
			if err != nil {
				t.Fatalf("RenderHandoff: %v", err)
			}
			head := "Subject: " + e.Subject + "\nTo: " + strings.Join(e.To, ", ") +
				"\nMessage-ID: " + e.Headers.Get("Message-Id") + "\n\n"
			golden(t, "handoff."+locale+".txt", head+string(e.Text))
			golden(t, "handoff."+locale+".html", string(e.HTML))
		})
	}
}

func TestRenderDigestGolden(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	low := sampleHandoff("")
	low.PartnerID, low.PartnerName, low.Score = "globex", "Globex IT", 31
	low.Reasons = []string{"Registered a deal (€12,000)"}
	low.ContactPhone = ""
	low.PageURL = "https://longtail.vendor.example/ui/partners/globex"
	bare := sampleHandoff("")
	bare.PartnerID, bare.PartnerName, bare.Score, bare.ContactName, bare.Reasons = "initech", "", 29.6, "", nil
	bare.DueAt = time.Time{}
	bare.PageURL = "https://longtail.vendor.example/ui/partners/initech"
	items := []notify.Handoff{low, sampleHandoff(""), bare}
	for _, locale := range []string{"en", "fr"} {
		t.Run(locale, func(t *testing.T) {
			t.Parallel()
			rep := notify.Rep{ID: "rep-7", Name: "Camille Martin", Email: "camille.martin@vendor.example", Locale: locale}
			e, err := r.RenderDigest(rep, items)
			if err != nil {
				t.Fatalf("RenderDigest: %v", err)
			}
			head := "Subject: " + e.Subject + "\nTo: " + strings.Join(e.To, ", ") +
				"\nMessage-ID: " + e.Headers.Get("Message-Id") + "\n\n"
			golden(t, "digest."+locale+".txt", head+string(e.Text))
			golden(t, "digest."+locale+".html", string(e.HTML))
		})
	}
	if items[0].PartnerID != "globex" {
		t.Error("RenderDigest reordered the caller's slice")
	}
}

func TestRenderHandoffLocaleAndHeaders(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	tests := []struct {
		locale, wantSubject string
	}{
		{locale: "en", wantSubject: "Call Acme Networks today — score 42"},
		{locale: "fr", wantSubject: "Appelez Acme Networks aujourd’hui — score 42"},
		{locale: "fr-CA", wantSubject: "Appelez Acme Networks aujourd’hui — score 42"},
		{locale: "FR_be", wantSubject: "Appelez Acme Networks aujourd’hui — score 42"},
		{locale: "de", wantSubject: "Call Acme Networks today — score 42"},
		{locale: "", wantSubject: "Call Acme Networks today — score 42"},
	}
	for _, tt := range tests {
		t.Run(tt.locale, func(t *testing.T) {
			t.Parallel()
			e, err := r.RenderHandoff(sampleHandoff(tt.locale))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{
				"subject":        e.Subject,
				"auto-submitted": e.Headers.Get("Auto-Submitted"),
				"unsubscribe":    e.Headers.Get("List-Unsubscribe"),
				"from":           e.From,
			}
			want := map[string]string{"subject": tt.wantSubject, "auto-submitted": "auto-generated"}
			for k := range want {
				if got[k] != want[k] {
					t.Errorf("%s = %q, want %q", k, got[k], want[k])
				}
			}
			if got["unsubscribe"] != "" || got["from"] != "" {
				t.Errorf("unexpected List-Unsubscribe %q or From %q", got["unsubscribe"], got["from"])
			}
		})
	}
}

func TestRenderHandoffMessageIDIsStable(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	id := func(h notify.Handoff) string {
		e, err := r.RenderHandoff(h)
		if err != nil {
			t.Fatal(err)
		}
		return e.Headers.Get("Message-Id")
	}
	base := sampleHandoff("en")
	if a, b := id(base), id(base); a != b {
		t.Errorf("same hand-off gave Message-IDs %q and %q", a, b)
	}
	rescored := base
	rescored.Score, rescored.Reasons, rescored.Locale = 99, nil, "fr"
	if a, b := id(base), id(rescored); a != b {
		t.Errorf("presentation changes altered the Message-ID: %q vs %q", a, b)
	}
	for name, edit := range map[string]func(*notify.Handoff){
		"partner": func(h *notify.Handoff) { h.PartnerID = "acme2" },
		"rep":     func(h *notify.Handoff) { h.RepID = "rep-8" },
		"queued":  func(h *notify.Handoff) { h.QueuedAt = h.QueuedAt.Add(time.Second) },
	} {
		other := base
		edit(&other)
		if id(base) == id(other) {
			t.Errorf("a different %s kept the same Message-ID", name)
		}
	}
}

func TestRenderEscapesHTMLOnlyInHTML(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	h := sampleHandoff("en")
	h.PartnerName = `Smith & <script>alert(1)</script>`
	h.Reasons = []string{`Visited "/pricing?a=1&b=2"`}
	e, err := r.RenderHandoff(h)
	if err != nil {
		t.Fatal(err)
	}
	html, text := string(e.HTML), string(e.Text)
	if strings.Contains(html, "<script>") || !strings.Contains(html, "Smith &amp; &lt;script&gt;") {
		t.Errorf("HTML not escaped:\n%s", html)
	}
	if !strings.Contains(text, `Smith & <script>alert(1)</script> just crossed`) || !strings.Contains(text, `- Visited "/pricing?a=1&b=2"`) {
		t.Errorf("text was escaped or lost:\n%s", text)
	}
}

func TestRenderHandoffRejectsBadInput(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	tests := []struct {
		name string
		edit func(*notify.Handoff)
		want string
	}{
		{name: "no partner", edit: func(h *notify.Handoff) { h.PartnerID = "" }, want: "partner id is empty"},
		{name: "no rep", edit: func(h *notify.Handoff) { h.RepID = "" }, want: "rep id is empty"},
		{name: "bad rep email", edit: func(h *notify.Handoff) { h.RepEmail = "camille at vendor" }, want: "rep email is not an address"},
		{name: "relative page", edit: func(h *notify.Handoff) { h.PageURL = "/ui/partners/acme" }, want: "page url"},
		{name: "javascript page", edit: func(h *notify.Handoff) { h.PageURL = "javascript:alert(1)" }, want: "page url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := sampleHandoff("en")
			tt.edit(&h)
			_, err := r.RenderHandoff(h)
			if !errors.Is(err, notify.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("RenderHandoff = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "@") {
				t.Errorf("error carries an email address: %v", err)
			}
		})
	}
	if _, err := r.RenderDigest(notify.Rep{ID: "rep-7", Email: "a@b.example"}, nil); !errors.Is(err, notify.ErrInvalid) {
		t.Errorf("empty digest: %v, want ErrInvalid", err)
	}
}

func TestNewRendererFSRejectsIncompleteTrees(t *testing.T) {
	t.Parallel()
	full := func() fstest.MapFS {
		return fstest.MapFS{
			"rep/handoff.en.txt":  {Data: []byte(`{{define "subject"}}s{{end}}b`)},
			"rep/handoff.en.html": {Data: []byte(`<p>b</p>`)},
			"rep/digest.en.txt":   {Data: []byte(`{{define "subject"}}s{{end}}b`)},
			"rep/digest.en.html":  {Data: []byte(`<p>b</p>`)},
		}
	}
	if _, err := notify.NewRendererFS(full()); err != nil {
		t.Fatalf("complete tree: %v", err)
	}
	tests := []struct {
		name string
		edit func(fstest.MapFS)
		want string
	}{
		{name: "no en digest", edit: func(f fstest.MapFS) { delete(f, "rep/digest.en.txt"); delete(f, "rep/digest.en.html") }, want: "fallback locale"},
		{name: "fr without html", edit: func(f fstest.MapFS) { f["rep/handoff.fr.txt"] = f["rep/handoff.en.txt"] }, want: "handoff.fr needs both"},
		{name: "no subject", edit: func(f fstest.MapFS) { f["rep/handoff.en.txt"] = &fstest.MapFile{Data: []byte("b")} }, want: `define "subject"`},
		{name: "unknown kind", edit: func(f fstest.MapFS) { f["rep/welcome.en.txt"] = f["rep/handoff.en.txt"] }, want: `unknown kind "welcome"`},
		{name: "bad name", edit: func(f fstest.MapFS) { f["rep/handoff.txt"] = f["rep/handoff.en.txt"] }, want: "want <kind>.<locale>"},
		{name: "syntax", edit: func(f fstest.MapFS) { f["rep/handoff.en.html"] = &fstest.MapFile{Data: []byte("{{.X")} }, want: "handoff.en.html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := full()
			tt.edit(f)
			_, err := notify.NewRendererFS(f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewRendererFS = %v, want error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRendererIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			locale := []string{"en", "fr"}[i%2]
			if _, err := r.RenderHandoff(sampleHandoff(locale)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
