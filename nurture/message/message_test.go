package message_test

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/nurture/flow"
	"github.com/longtailhq/longtail/nurture/message"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// track makes readable tracked links for the golden files; the & checks
// that the HTML part escapes them.
func track(rawURL, topic string) (string, error) {
	return "https://longtail.test/t/c/token?topic=" + topic + "&to=" + url.QueryEscape(rawURL), nil
}

func golden(t *testing.T, name, got string) {
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

func show(c *message.Content) string {
	return "Subject: " + c.Subject + "\nLocale: " + c.Locale + "\n\n" + c.Text + "\n======== HTML ========\n" + c.HTML
}

func embedded(t *testing.T) *message.Templates {
	t.Helper()
	m, err := message.Embedded()
	if err != nil {
		t.Fatalf("Embedded: %v", err)
	}
	return m
}

// Every shipped template, in both languages, as a contact reads it.
func TestShippedTemplatesGolden(t *testing.T) {
	t.Parallel()
	m := embedded(t)
	if len(m.Names()) == 0 {
		t.Fatal("no shipped templates")
	}
	for _, name := range m.Names() {
		if got := fmt.Sprint(m.Locales(name)); got != "[en fr]" {
			t.Errorf("%s: locales %s, want en and fr", name, got)
		}
		for _, locale := range []string{"en", "fr"} {
			t.Run(name+"."+locale, func(t *testing.T) {
				t.Parallel()
				d := message.SampleData()
				if locale == "fr" {
					d.Contact.FirstName, d.Contact.LastName = "Jeanne", "Dupont"
				}
				c, err := m.Render(name, locale, d, track)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if c.HTML == "" {
					t.Error("no HTML part")
				}
				golden(t, name+"."+locale, show(c))
			})
		}
	}
}

// With only what every send has, the templates still read well: no
// "Hi ,", no dangling phone line.
func TestShippedTemplatesWithSparseData(t *testing.T) {
	t.Parallel()
	m := embedded(t)
	d := message.Data{
		Contact:        message.Contact{Email: "someone@partner.example"},
		Rep:            message.Rep{Name: "Vendor Partner Team", Email: "partners@vendor.example"},
		UnsubscribeURL: "https://longtail.test/u/token",
	}
	for _, locale := range []string{"en", "fr"} {
		c, err := m.Render("dealreg-first-deal", locale, d, track)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "sparse.dealreg-first-deal."+locale, show(c))
	}
	for _, name := range m.Names() {
		for _, locale := range []string{"en", "fr"} {
			c, err := m.Render(name, locale, d, track)
			if err != nil {
				t.Fatalf("%s.%s: %v", name, locale, err)
			}
			for _, bad := range []string{" ,", "<no value>", "  ", "()"} {
				if strings.Contains(c.Subject+c.Text, bad) {
					t.Errorf("%s.%s: sparse rendering contains %q:\n%s", name, locale, bad, c.Text)
				}
			}
		}
	}
}

func TestRenderLocales(t *testing.T) {
	t.Parallel()
	m := embedded(t)
	tests := []struct{ locale, want string }{
		{"fr", "fr"}, {"fr-CA", "fr"}, {"FR_be", "fr"}, {"en-GB", "en"}, {"de", "en"}, {"", "en"},
	}
	for _, tc := range tests {
		c, err := m.Render("dealreg-nudge", tc.locale, message.SampleData(), track)
		if err != nil || c.Locale != tc.want {
			t.Errorf("Render(locale %q) = %v, %v; want locale %s", tc.locale, c, err, tc.want)
		}
	}
	if _, err := m.Render("no-such", "en", message.SampleData(), track); !errors.Is(err, message.ErrNoTemplate) {
		t.Errorf("unknown template: err = %v, want ErrNoTemplate", err)
	}
	if m.Check("dealreg-nudge") != nil || !errors.Is(m.Check("no-such"), message.ErrNoTemplate) {
		t.Error("Check does not tell known from unknown templates")
	}
}

func load(t *testing.T, files map[string]string) (*message.Templates, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return message.Load(fsys, "tpl")
}

func mustLoad(t *testing.T, files map[string]string) *message.Templates {
	t.Helper()
	m, err := load(t, files)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m
}

const okTxt = `{{define "subject"}}Hello{{end}}Hi {{.Contact.FirstName}}`

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string // "file:line:col: part: | message part"
	}{
		{"no en", map[string]string{"a.fr.txt": okTxt},
			[]string{"tpl/a.fr.txt:1:1: (file): | no a.en.txt"}},
		{"no subject", map[string]string{"a.en.txt": "Hi"},
			[]string{`tpl/a.en.txt:1:1: subject: | {{define "subject"}}`}},
		{"unknown field", map[string]string{"a.en.txt": "{{define \"subject\"}}Hi{{end}}\nHello\n  {{.Contact.Nmae}}"},
			[]string{"tpl/a.en.txt:3:12: text: | <.Contact.Nmae>: can't evaluate field Nmae"}},
		{"unknown field in the subject", map[string]string{"a.en.txt": "{{define \"subject\"}}{{.Partner.Nom}}{{end}}Hi"},
			[]string{"tpl/a.en.txt:1:30: subject: | can't evaluate field Nom"}},
		{"unknown field in an else branch", map[string]string{"a.en.txt": "{{define \"subject\"}}Hi{{end}}{{with .Contact.FirstName}}{{.}}{{else}}{{.Contact.Nickname}}{{end}}"},
			[]string{"tpl/a.en.txt:1:79: text: | can't evaluate field Nickname"}},
		{"unknown function", map[string]string{"a.en.txt": "{{define \"subject\"}}Hi{{end}}\n{{trak \"https://x.example\" \"y\"}}"},
			[]string{`tpl/a.en.txt:2:1: template: | function "trak" not defined`}},
		{"html syntax", map[string]string{"a.en.txt": okTxt, "a.en.html": "<p>{{.Contact.FirstName</p>"},
			[]string{"tpl/a.en.html:1:1: template: | "}},
		{"html without txt", map[string]string{"a.en.txt": okTxt, "a.en.html": "<p>x</p>", "a.fr.html": "<p>x</p>"},
			[]string{"tpl/a.fr.html:1:1: (file): | no a.fr.txt beside it"}},
		{"a locale without the html the others have", map[string]string{"a.en.txt": okTxt, "a.en.html": "<p>x</p>", "a.fr.txt": okTxt},
			[]string{"tpl/a.fr.txt:1:1: (file): | no a.fr.html while a.en.html exists"}},
		{"bad file name", map[string]string{"Welcome.EN.txt": okTxt, "notes.md": "ignored"},
			[]string{"tpl/Welcome.EN.txt:1:1: (file): | not <name>.<locale>.txt"}},
		{"track of a bad URL", map[string]string{"a.en.txt": "{{define \"subject\"}}Hi{{end}}{{track \"ftp://files.example/x\" \"security\"}}"},
			[]string{`tpl/a.en.txt:1:31: text: | not an absolute http or https URL`}},
		{"track with a bad topic", map[string]string{"a.en.txt": "{{define \"subject\"}}Hi{{end}}{{track \"https://x.example\" \"Big Topic\"}}"},
			[]string{`tpl/a.en.txt:1:31: text: | topic "Big Topic" is not a topic`}},
		{"track link inside another link", map[string]string{"a.en.txt": okTxt, "a.en.html": "<a href=\"https://x.example/go?to={{track \"https://x.example\" \"t\"}}\">x</a>"},
			[]string{"tpl/a.en.html:1:1: html: | escaped or altered"}},
		{"track link cut short", map[string]string{"a.en.txt": "{{define \"subject\"}}Hi{{end}}{{slice (track \"https://x.example\" \"t\") 0 40}}"},
			[]string{"tpl/a.en.txt:1:1: text: | cut or altered"}},
		{"empty subject", map[string]string{"a.en.txt": "{{define \"subject\"}} {{.Partner.Name}} {{end}}Hi"},
			[]string{"tpl/a.en.txt:1:1: subject: | renders empty"}},
		{"every problem at once", map[string]string{
			"a.en.txt": "{{define \"subject\"}}Hi{{end}}{{.Rep.Fax}}",
			"b.en.txt": "no subject",
			"c.fr.txt": okTxt,
		}, []string{
			"tpl/a.en.txt:1:35: text: | can't evaluate field Fax",
			"tpl/b.en.txt:1:1: subject: | ",
			"tpl/c.fr.txt:1:1: (file): | no c.en.txt",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := load(t, tc.files)
			if m != nil {
				t.Error("Load returned templates along with errors")
			}
			var list flow.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err = %v (%T), want a flow.ErrorList", err, err)
			}
			if len(list) != len(tc.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(list), len(tc.want), err)
			}
			for i := range min(len(list), len(tc.want)) {
				pos, msg, _ := strings.Cut(tc.want[i], "| ")
				if got := list[i].Error(); !strings.HasPrefix(got, pos) || !strings.Contains(got, msg) {
					t.Errorf("error %d = %q, want %s…%s", i, got, pos, msg)
				}
			}
		})
	}
}

func TestTrackLinks(t *testing.T) {
	t.Parallel()
	m := mustLoad(t, map[string]string{
		"a.en.txt":     "{{define \"subject\"}}Hi {{.Contact.FirstName}}{{end}}{{track \"https://v.example/a\" \"security\"}} {{track \"https://v.example/a\" \"security\"}} {{.Contact.FirstName}}",
		"a.en.html":    "<a href=\"{{track \"https://v.example/a\" \"security\"}}\">a</a> <p>{{track \"https://v.example/b?x=1&y=2\" \"\"}}</p>",
		"plain.en.txt": okTxt,
	})
	var calls atomic.Int32
	counting := func(rawURL, topic string) (string, error) {
		calls.Add(1)
		return "https://t.example/c?u=" + url.QueryEscape(rawURL) + "&topic=" + topic, nil
	}
	d := message.SampleData()
	// A name that looks like a stand-in is left alone: the nonce is secret.
	d.Contact.FirstName = "https://lt-0123456789abcdef.invalid/t_68747470733a2f2f6576696c2e6578616d706c65_78_"
	c, err := m.Render("a", "en", d, counting)
	if err != nil {
		t.Fatal(err)
	}
	wantText := "https://t.example/c?u=https%3A%2F%2Fv.example%2Fa&topic=security https://t.example/c?u=https%3A%2F%2Fv.example%2Fa&topic=security " + d.Contact.FirstName
	if c.Text != wantText {
		t.Errorf("text = %q, want %q", c.Text, wantText)
	}
	wantHTML := `<a href="https://t.example/c?u=https%3A%2F%2Fv.example%2Fa&amp;topic=security">a</a> <p>https://t.example/c?u=https%3A%2F%2Fv.example%2Fb%3Fx%3D1%26y%3D2&amp;topic=</p>`
	if c.HTML != wantHTML {
		t.Errorf("html = %q, want %q", c.HTML, wantHTML)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("track called %d times, want 2 (once per distinct link)", n)
	}
	if c.Subject != "Hi "+d.Contact.FirstName {
		t.Errorf("subject = %q", c.Subject)
	}

	tests := []struct {
		name  string
		track message.TrackFunc
		want  string
	}{
		{"no track function", nil, "no track function"},
		{"track fails", func(string, string) (string, error) { return "", errors.New("signer down") }, "signer down"},
		{"track returns a bad link", func(string, string) (string, error) { return "javascript:alert(1)", nil }, "bad link"},
		{"track returns a link with a quote", func(string, string) (string, error) { return `https://t.example/"><script>`, nil }, "bad link"},
	}
	for _, tc := range tests {
		if _, err := m.Render("a", "en", message.SampleData(), tc.track); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := m.Render("plain", "en", message.SampleData(), nil); err != nil {
		t.Errorf("a template without links needs no track function: %v", err)
	}
}

// A subject is one header line whatever the data holds.
func TestSubjectIsOneLine(t *testing.T) {
	t.Parallel()
	m := mustLoad(t, map[string]string{"a.en.txt": "{{define \"subject\"}}\n  News for\n {{.Contact.FirstName}}\n{{end}}body"})
	d := message.SampleData()
	d.Contact.FirstName = "Jane\r\nBcc: everyone@example.com"
	c, err := m.Render("a", "en", d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "News for Jane Bcc: everyone@example.com" {
		t.Errorf("subject = %q", c.Subject)
	}
}

func TestRenderConcurrently(t *testing.T) {
	t.Parallel()
	m := embedded(t)
	var wg sync.WaitGroup
	names := m.Names()
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				name := names[(i+j)%len(names)]
				d := message.SampleData()
				d.Contact.FirstName = fmt.Sprintf("C%d-%d", i, j)
				c, err := m.Render(name, []string{"en", "fr"}[j%2], d, track)
				if err != nil {
					t.Error(err)
					return
				}
				if !strings.Contains(c.Text, d.Contact.FirstName) {
					t.Errorf("%s: rendered for someone else:\n%s", name, c.Text)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestNames(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"b.en.txt": {Data: []byte("broken {{")}, "a.fr.txt": {Data: []byte(okTxt)}, "a.en.html": {Data: []byte("")},
		"README.md": {Data: []byte("x")}, "Bad.en.txt": {Data: []byte("x")},
	}
	names, err := message.Names(fsys)
	if err != nil || fmt.Sprint(names) != "[a b]" {
		t.Errorf("Names = %v, %v; want [a b]", names, err)
	}
}

// BenchmarkRender is the cost of one nurture email's subject, text and
// HTML with two tracked links: what the engine adds per send before SMTP.
func BenchmarkRender(b *testing.B) {
	m, err := message.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	d := message.SampleData()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Render("dealreg-intro-owner", "fr", d, track); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
