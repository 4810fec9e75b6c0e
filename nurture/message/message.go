// Package message renders nurture emails from their templates:
// <name>.<locale>.txt (the plain part, which also defines the "subject"
// template) and an optional <name>.<locale>.html, in templates/nurture/ or
// the directory nurture.templates_dir names. Every name needs its en
// templates; another locale without a file of its own falls back to en.
//
// Templates are parsed and checked once, at load: each is rendered against
// complete and sparse sample data, so a misspelled field, an unknown
// function or a bad link fails the load (and `longtail flows validate`)
// instead of producing a blank or broken email later. Rendering is then
// safe for concurrent use.
package message

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	htmltemplate "html/template"
	"io/fs"
	"maps"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"unicode"

	"github.com/longtailhq/longtail/nurture/flow"
	"github.com/longtailhq/longtail/templates"
)

// DefaultLocale is the locale every template must have and every other
// locale falls back to.
const DefaultLocale = "en"

// EmbeddedDir is where the shipped templates live in the source tree.
const EmbeddedDir = "templates/nurture"

// ErrNoTemplate: no template of that name.
var ErrNoTemplate = errors.New("no such template")

// TrackFunc turns a link of a template into a first-party tracked link for
// one recipient: {{track "https://vendor.example/dealreg" "deal-registration"}}
// in a template becomes what TrackFunc returns for that URL and topic.
type TrackFunc func(url, topic string) (string, error)

// Content is a rendered email.
type Content struct {
	// Subject is one line: the template's whitespace runs collapse to one
	// space, so a template cannot inject a header.
	Subject string
	Text    string
	// HTML is empty when the template has no .html.
	HTML string
	// Locale is the locale of the templates used ("en" when the contact's
	// had none).
	Locale string
}

// Templates is a loaded, checked set of nurture templates.
type Templates struct {
	dir  string
	sets map[string]map[string]*set // name → locale → templates
	// marker starts the stand-in {{track}} writes; see placeholder.
	marker, nonce string
}

type set struct {
	name, locale string
	txtFile      string
	htmlFile     string
	text         *texttemplate.Template // the plain part; defines "subject"
	html         *htmltemplate.Template // nil without an .html file
	broken       bool                   // a file of the set did not parse
}

// Embedded loads the templates shipped in the binary.
func Embedded() (*Templates, error) {
	sub, err := fs.Sub(templates.FS, "nurture")
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return Load(sub, EmbeddedDir)
}

var (
	// fileRE: <name>.<locale>.<txt|html>. Names are those flow files use
	// (flow.Step.Template); locales are languages.
	fileRE = regexp.MustCompile(`^([a-z0-9][a-z0-9_-]{0,63})\.([a-z]{2})\.(txt|html)$`)
	// topicRE is the shape of interest topics (as ingest gives them).
	topicRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	// errorRE picks the file, line, column and message out of the errors
	// of text/template and html/template.
	errorRE = regexp.MustCompile(`^(?:html/)?template: ?([^:\s]+):(\d+)(?::(\d+))?: (?:executing "[^"]*" at )?(.*)$`)
)

// Load reads the templates at the top of fsys; dir is how fsys is known
// (the configured directory, or EmbeddedDir), for messages. Files other
// than .txt and .html are ignored. Every problem is reported, as a
// flow.ErrorList of file:line:col: part: message, and no Templates when
// there is any.
func Load(fsys fs.FS, dir string) (*Templates, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("message: read templates %s: %w", dir, err)
	}
	t := &Templates{dir: dir, sets: map[string]map[string]*set{}}
	if err := t.newMarker(); err != nil {
		return nil, err
	}
	funcs := map[string]any{"track": t.placeholder, "lines": lines}
	var errs flow.ErrorList
	fail := func(file string, line, col int, part, format string, args ...any) {
		errs = append(errs, &flow.Error{File: t.display(file), Line: line, Col: col, Field: part, Msg: fmt.Sprintf(format, args...)})
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || (path.Ext(n) != ".txt" && path.Ext(n) != ".html") {
			continue
		}
		m := fileRE.FindStringSubmatch(n)
		if m == nil {
			fail(n, 1, 1, "(file)", "not <name>.<locale>.txt or .html (name: a-z, 0-9, '-', '_'; locale: a language such as en or fr)")
			continue
		}
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			fail(n, 1, 1, "(file)", "%v", err)
			continue
		}
		if t.sets[m[1]] == nil {
			t.sets[m[1]] = map[string]*set{}
		}
		s := t.sets[m[1]][m[2]]
		if s == nil {
			s = &set{name: m[1], locale: m[2]}
			t.sets[m[1]][m[2]] = s
		}
		if m[3] == "txt" {
			s.txtFile = n
			tt, err := texttemplate.New(n).Option("missingkey=error").Funcs(funcs).Parse(string(data))
			switch {
			case err != nil:
				s.broken = true
				errs = append(errs, t.positioned(n, "template", err))
			case tt.Lookup("subject") == nil:
				s.broken = true
				fail(n, 1, 1, "subject", `the plain part defines the subject: {{define "subject"}}...{{end}}`)
			default:
				s.text = tt
			}
		} else {
			s.htmlFile = n
			ht, err := htmltemplate.New(n).Option("missingkey=error").Funcs(funcs).Parse(string(data))
			if err != nil {
				s.broken = true
				errs = append(errs, t.positioned(n, "template", err))
			} else {
				s.html = ht
			}
		}
	}
	for _, name := range t.Names() {
		byLocale := t.sets[name]
		en := byLocale[DefaultLocale]
		if en == nil || en.txtFile == "" {
			some := byLocale[slices.Sorted(maps.Keys(byLocale))[0]]
			fail(cmp.Or(some.txtFile, some.htmlFile), 1, 1, "(file)", "no %s.%s.txt: every template needs its %s version, the one other locales fall back to", name, DefaultLocale, DefaultLocale)
		}
		withHTML := ""
		for _, s := range byLocale {
			if s.htmlFile != "" {
				withHTML = s.htmlFile
			}
		}
		for _, locale := range slices.Sorted(maps.Keys(byLocale)) {
			s := byLocale[locale]
			switch {
			case s.txtFile == "":
				fail(s.htmlFile, 1, 1, "(file)", "no %s.%s.txt beside it: the plain part is required (it defines the subject)", name, locale)
			case withHTML != "" && s.htmlFile == "":
				fail(s.txtFile, 1, 1, "(file)", "no %s.%s.html while %s exists: every locale of a template has an HTML part or none does", name, locale, withHTML)
			}
		}
	}
	// Render what parsed with both samples: a field that does not exist,
	// a failing {{track}} or an empty subject is found now.
	for _, name := range t.Names() {
		for _, locale := range slices.Sorted(maps.Keys(t.sets[name])) {
			s := t.sets[name][locale]
			if s.broken || s.text == nil {
				continue
			}
			for _, d := range []Data{SampleData(), sparseData()} {
				if _, err := t.render(s, d, sampleTrack); err != nil {
					var re *renderError
					if errors.As(err, &re) {
						errs = append(errs, t.positioned(re.file, re.part, re.err))
					}
					break
				}
			}
		}
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b *flow.Error) int {
			return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return nil, errs
	}
	return t, nil
}

func (t *Templates) display(file string) string {
	if t.dir == "" {
		return file
	}
	return filepath.Join(t.dir, file)
}

// positioned turns a template error into file:line:col: part: message,
// using the position the template packages put in their messages.
func (t *Templates) positioned(file, part string, err error) *flow.Error {
	msg := err.Error()
	line, col := 1, 1
	if m := errorRE.FindStringSubmatch(msg); m != nil {
		file = m[1]
		line, _ = strconv.Atoi(m[2])
		if m[3] != "" {
			col, _ = strconv.Atoi(m[3])
		}
		msg = m[4]
	}
	return &flow.Error{File: t.display(file), Line: line, Col: col, Field: part, Msg: msg}
}

// Names returns the template names, sorted.
func (t *Templates) Names() []string { return slices.Sorted(maps.Keys(t.sets)) }

// Locales returns the locales a template has, sorted.
func (t *Templates) Locales(name string) []string { return slices.Sorted(maps.Keys(t.sets[name])) }

// Check returns nil when the template exists; flow.Options.Template takes
// it, so a flow naming a missing template fails to load.
func (t *Templates) Check(name string) error {
	if _, ok := t.sets[name]; ok {
		return nil
	}
	return t.noTemplate(name)
}

func (t *Templates) noTemplate(name string) error {
	return fmt.Errorf("%w %q (want %s)", ErrNoTemplate, name, t.display(name+"."+DefaultLocale+".txt"))
}

// Names lists the template names present at the top of fsys, whether or
// not they load: `flows validate` reports a broken template once, where
// it is, and only a missing one at the flow step that names it.
func Names(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("message: read templates: %w", err)
	}
	var names []string
	for _, e := range entries {
		if m := fileRE.FindStringSubmatch(e.Name()); m != nil && !e.IsDir() && !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return names, nil
}

// Render renders template name for a contact of locale ("fr-CA" uses fr,
// a locale without templates uses en). track makes each {{track}} link;
// it may be nil only for templates that have none.
func (t *Templates) Render(name, locale string, d Data, track TrackFunc) (*Content, error) {
	byLocale, ok := t.sets[name]
	if !ok {
		return nil, fmt.Errorf("message: %w", t.noTemplate(name))
	}
	s := byLocale[flow.Language(locale)]
	if s == nil {
		s = byLocale[DefaultLocale]
	}
	c, err := t.render(s, d, track)
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return c, nil
}

// renderError says which file and part (subject, text, html) failed.
type renderError struct {
	file, part string
	err        error
}

func (e *renderError) Error() string {
	return fmt.Sprintf("render %s (%s): %v", e.file, e.part, e.err)
}

func (e *renderError) Unwrap() error { return e.err }

func (t *Templates) render(s *set, d Data, track TrackFunc) (*Content, error) {
	var buf bytes.Buffer
	links := map[[2]string]string{} // one token per link per email
	part := func(file, name string, exec func() error, escape bool) (string, error) {
		buf.Reset()
		if err := exec(); err != nil {
			return "", &renderError{file: file, part: name, err: err}
		}
		out, err := t.resolve(buf.String(), track, escape, links)
		if err != nil {
			return "", &renderError{file: file, part: name, err: err}
		}
		return out, nil
	}
	c := &Content{Locale: s.locale}
	subject, err := part(s.txtFile, "subject", func() error { return s.text.ExecuteTemplate(&buf, "subject", d) }, false)
	if err != nil {
		return nil, err
	}
	if c.Subject = strings.Join(strings.Fields(subject), " "); c.Subject == "" {
		return nil, &renderError{file: s.txtFile, part: "subject", err: errors.New("the subject renders empty")}
	}
	if c.Text, err = part(s.txtFile, "text", func() error { return s.text.Execute(&buf, d) }, false); err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Text) == "" {
		return nil, &renderError{file: s.txtFile, part: "text", err: errors.New("the plain part renders empty")}
	}
	if s.html != nil {
		if c.HTML, err = part(s.htmlFile, "html", func() error { return s.html.Execute(&buf, d) }, true); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// The {{track URL TOPIC}} function. Templates are parsed once and shared,
// but each email needs its own tracked links (they carry the recipient),
// and html/template cannot give a template new functions once it has run
// (Clone refuses after execution; re-parsing per email would redo the
// escaping analysis each time). So {{track}} writes a stand-in —
//
//	https://lt-<nonce>.invalid/t_<hex URL>_<hex topic>_
//
// an https URL made only of characters that neither text/template nor
// html/template's URL and attribute escapers change — and Render replaces
// each stand-in with the recipient's link, HTML-escaped in the HTML part.
// The nonce is random per load, so no text a contact controls (a company
// name) can pass for a stand-in and have an arbitrary URL tracked; a
// stand-in the template mangled (cut, or escaped as a parameter of another
// URL) is found by its nonce and fails the render.

func (t *Templates) newMarker() error {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("message: %w", err)
	}
	t.nonce = "lt-" + hex.EncodeToString(b[:])
	t.marker = "https://" + t.nonce + ".invalid/t_"
	return nil
}

func (t *Templates) placeholder(rawURL, topic string) (string, error) {
	if err := checkLink(rawURL); err != nil {
		return "", err
	}
	if topic != "" && !topicRE.MatchString(topic) {
		return "", fmt.Errorf("topic %q is not a topic (lower case letters, digits, '.', '_' and '-')", topic)
	}
	return t.marker + hex.EncodeToString([]byte(rawURL)) + "_" + hex.EncodeToString([]byte(topic)) + "_", nil
}

// resolve replaces the stand-ins in s with the links track makes.
func (t *Templates) resolve(s string, track TrackFunc, escape bool, links map[[2]string]string) (string, error) {
	if !strings.Contains(s, t.nonce) {
		return s, nil
	}
	if track == nil {
		return "", errors.New("the template has {{track}} links but no track function was given")
	}
	var b strings.Builder
	for {
		i := strings.Index(s, t.marker)
		if i < 0 {
			break
		}
		b.WriteString(s[:i])
		rawURL, rest, ok1 := cutHex(s[i+len(t.marker):])
		topic, rest, ok2 := cutHex(rest)
		if !ok1 || !ok2 {
			return "", errors.New("a {{track}} link was cut or altered by the template; use it whole, as a link")
		}
		key := [2]string{rawURL, topic}
		link, ok := links[key]
		if !ok {
			var err error
			if link, err = track(rawURL, topic); err != nil {
				return "", fmt.Errorf("track %s: %w", rawURL, err)
			}
			if err := checkLink(link); err != nil {
				return "", fmt.Errorf("track %s returned a bad link: %w", rawURL, err)
			}
			links[key] = link
		}
		if escape {
			link = html.EscapeString(link)
		}
		b.WriteString(link)
		s = rest
	}
	b.WriteString(s)
	out := b.String()
	if strings.Contains(out, t.nonce) {
		return "", errors.New("a {{track}} link was escaped or altered by the template (inside another URL?); use it as the whole link")
	}
	return out, nil
}

func cutHex(s string) (string, string, bool) {
	j := strings.IndexByte(s, '_')
	if j < 0 {
		return "", s, false
	}
	v, err := hex.DecodeString(s[:j])
	if err != nil {
		return "", s, false
	}
	return string(v), s[j+1:], true
}

// checkLink accepts an absolute http(s) URL with a host, and nothing that
// could break out of an attribute or a line.
func checkLink(raw string) error {
	if strings.IndexFunc(raw, unsafeInLink) >= 0 {
		return fmt.Errorf("link %q contains spaces, quotes or angle brackets", raw)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("link %q is not an absolute http or https URL", raw)
	}
	return nil
}

func unsafeInLink(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`"'<>\`, r)
}

// sampleTrack stands in for the tracking signer when templates are
// checked at load.
func sampleTrack(rawURL, topic string) (string, error) {
	return "https://longtail.vendor.example/t/c/sample-" + cmp.Or(topic, "link"), nil
}

// lines splits text into lines, for a signature in HTML:
// {{range lines .Rep.Signature}}{{.}}<br>{{end}}.
func lines(s string) []string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
