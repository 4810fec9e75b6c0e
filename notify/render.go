package notify

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"math"
	"net/mail"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/jordan-wright/email"

	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/templates"
)

// Template kinds under rep/ and the locale every kind must have.
const (
	kindHandoff   = "handoff"
	kindDigest    = "digest"
	defaultLocale = "en"
	repDir        = "rep"
	// messageIDDomain is the right-hand side of generated Message-IDs. It
	// only has to be unique to longtail; receivers do not resolve it.
	messageIDDomain = "longtail"
)

// Renderer turns hand-offs into emails. Templates are parsed once by
// NewRenderer; rendering is safe for concurrent use.
type Renderer struct {
	sets map[string]map[string]templateSet // kind → locale → templates
}

type templateSet struct {
	text *texttemplate.Template // body, plus the "subject" template
	html *htmltemplate.Template
}

// NewRenderer parses the embedded rep templates.
func NewRenderer() (*Renderer, error) { return NewRendererFS(templates.FS) }

// NewRendererFS parses rep/<kind>.<locale>.{txt,html} from fsys. Every kind
// needs an en pair, every locale needs both formats, and every .txt must
// define "subject": a gap is a start-up error, not a failed email.
func NewRendererFS(fsys fs.FS) (*Renderer, error) {
	names, err := fs.Glob(fsys, repDir+"/*")
	if err != nil {
		return nil, fmt.Errorf("notify: list templates: %w", err)
	}
	funcs := map[string]any{"inc": func(i int) int { return i + 1 }}
	r := &Renderer{sets: map[string]map[string]templateSet{kindHandoff: {}, kindDigest: {}}}
	for _, p := range names {
		parts := strings.Split(path.Base(p), ".")
		if len(parts) != 3 || (parts[2] != "txt" && parts[2] != "html") {
			return nil, fmt.Errorf("notify: template %s: want <kind>.<locale>.txt or .html", p)
		}
		kind, locale, ext := parts[0], parts[1], parts[2]
		locales, ok := r.sets[kind]
		if !ok {
			return nil, fmt.Errorf("notify: template %s: unknown kind %q (want %s or %s)", p, kind, kindHandoff, kindDigest)
		}
		set := locales[locale]
		switch ext {
		case "txt":
			t, err := texttemplate.New(path.Base(p)).Funcs(funcs).ParseFS(fsys, p)
			if err != nil {
				return nil, fmt.Errorf("notify: %w", err)
			}
			if t.Lookup("subject") == nil {
				return nil, fmt.Errorf("notify: template %s does not define \"subject\"", p)
			}
			set.text = t
		case "html":
			t, err := htmltemplate.New(path.Base(p)).Funcs(funcs).ParseFS(fsys, p)
			if err != nil {
				return nil, fmt.Errorf("notify: %w", err)
			}
			set.html = t
		}
		locales[locale] = set
	}
	for kind, locales := range r.sets {
		if _, ok := locales[defaultLocale]; !ok {
			return nil, fmt.Errorf("notify: no %s/%s.%s.txt and .html templates: %s is the fallback locale", repDir, kind, defaultLocale, defaultLocale)
		}
		for locale, set := range locales {
			if set.text == nil || set.html == nil {
				return nil, fmt.Errorf("notify: %s/%s.%s needs both a .txt and an .html template", repDir, kind, locale)
			}
		}
	}
	return r, nil
}

// set picks the templates for locale: "fr-CA" and "fr_CA" use fr, and a
// locale without templates uses en.
func (r *Renderer) set(kind, locale string) templateSet {
	lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(locale)), "-")
	lang, _, _ = strings.Cut(lang, "_")
	if s, ok := r.sets[kind][lang]; ok {
		return s
	}
	return r.sets[kind][defaultLocale]
}

// handoffView is what the hand-off templates see: display-ready strings.
type handoffView struct {
	RepName, PartnerName                          string
	ContactName, ContactEmail, ContactPhone       string
	Persona, Segment, Score, Due, PageURL, Locale string
	Reasons                                       []string
}

func viewOf(h Handoff, lang string) handoffView {
	return handoffView{
		RepName:      cmp.Or(strings.TrimSpace(h.RepName), h.RepID),
		PartnerName:  cmp.Or(strings.TrimSpace(h.PartnerName), h.PartnerID),
		ContactName:  strings.TrimSpace(h.ContactName),
		ContactEmail: h.ContactEmail,
		ContactPhone: h.ContactPhone,
		Persona:      h.Persona,
		Segment:      h.Segment,
		Score:        formatScore(h.Score),
		Due:          formatTime(h.DueAt, lang),
		PageURL:      h.PageURL,
		Reasons:      h.Reasons,
	}
}

// RenderHandoff renders the email telling h's rep to call the partner:
// multipart text and HTML, addressed to the rep, with a Message-ID derived
// from h.ID(). From is left empty for the mailer to fill from smtp.from.
func (r *Renderer) RenderHandoff(h Handoff) (*email.Email, error) {
	if err := validateHandoff(h, true); err != nil {
		return nil, err
	}
	set := r.set(kindHandoff, h.Locale)
	v := viewOf(h, langOf(set))
	return r.build(set, v, h.RepName, h.RepEmail, "handoff."+h.ID())
}

// RenderDigest renders one email listing a rep's waiting hand-offs,
// highest score first. An empty list is an error: there is nothing to send.
func (r *Renderer) RenderDigest(rep Rep, items []Handoff) (*email.Email, error) {
	if strings.TrimSpace(rep.ID) == "" {
		return nil, fmt.Errorf("notify: digest: rep id is empty: %w", ErrInvalid)
	}
	if _, err := mail.ParseAddress(rep.Email); err != nil {
		return nil, fmt.Errorf("notify: digest for rep %s: rep email is not an address: %w", rep.ID, ErrInvalid)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("notify: digest for rep %s: no hand-offs: %w", rep.ID, ErrInvalid)
	}
	for _, it := range items {
		if err := validateHandoff(it, false); err != nil {
			return nil, err
		}
	}
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, func(a, b Handoff) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return a.QueuedAt.Compare(b.QueuedAt)
	})
	set := r.set(kindDigest, rep.Locale)
	lang := langOf(set)
	ids := make([]string, 0, len(sorted)+1)
	ids = append(ids, rep.ID)
	view := struct {
		RepName string
		Items   []handoffView
	}{RepName: cmp.Or(strings.TrimSpace(rep.Name), rep.ID)}
	for _, it := range sorted {
		view.Items = append(view.Items, viewOf(it, lang))
		ids = append(ids, it.PartnerID, it.QueuedAt.UTC().Format(time.RFC3339Nano))
	}
	return r.build(set, view, rep.Name, rep.Email, "digest."+digest(ids...))
}

// langOf recovers which locale a set is, for date formatting.
func langOf(s templateSet) string {
	parts := strings.Split(s.text.Name(), ".")
	return parts[1]
}

func (r *Renderer) build(set templateSet, view any, toName, toAddr, idLeft string) (*email.Email, error) {
	var subj, text, html bytes.Buffer
	if err := set.text.ExecuteTemplate(&subj, "subject", view); err != nil {
		return nil, fmt.Errorf("notify: render subject: %w", err)
	}
	if err := set.text.Execute(&text, view); err != nil {
		return nil, fmt.Errorf("notify: render text: %w", err)
	}
	if err := set.html.Execute(&html, view); err != nil {
		return nil, fmt.Errorf("notify: render html: %w", err)
	}
	e := email.NewEmail()
	// jordan-wright/email splits address headers on commas, so a comma in
	// a display name would break the To header.
	name := strings.Join(strings.Fields(strings.ReplaceAll(toName, ",", " ")), " ")
	e.To = []string{(&mail.Address{Name: name, Address: toAddr}).String()}
	e.Subject = strings.Join(strings.Fields(subj.String()), " ")
	e.Text = text.Bytes()
	e.HTML = html.Bytes()
	// An internal, automatic message: ask receivers not to auto-reply
	// (RFC 3834; the second header is Exchange's equivalent).
	e.Headers.Set("Auto-Submitted", "auto-generated")
	e.Headers.Set("X-Auto-Response-Suppress", "All")
	if err := mailer.SetMessageID(e, idLeft+"@"+messageIDDomain); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return e, nil
}

// validateHandoff checks what rendering needs. Errors name fields and ids,
// never email addresses: they end up in logs.
func validateHandoff(h Handoff, needRep bool) error {
	var errs []error
	if strings.TrimSpace(h.PartnerID) == "" {
		errs = append(errs, errors.New("partner id is empty"))
	}
	if needRep {
		if strings.TrimSpace(h.RepID) == "" {
			errs = append(errs, errors.New("rep id is empty"))
		}
		if _, err := mail.ParseAddress(h.RepEmail); err != nil {
			errs = append(errs, errors.New("rep email is not an address"))
		}
	}
	if !absoluteHTTP(h.PageURL) {
		errs = append(errs, errors.New("page url is not an absolute http(s) URL"))
	}
	if math.IsNaN(h.Score) || math.IsInf(h.Score, 0) {
		errs = append(errs, errors.New("score is not a number"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("notify: hand-off of partner %q to rep %q: %w: %w", h.PartnerID, h.RepID, errors.Join(errs...), ErrInvalid)
	}
	return nil
}

// absoluteHTTP reports whether s is an absolute http(s) URL.
func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// formatScore shows a whole number: reps compare scores, not decimals.
func formatScore(s float64) string { return strconv.FormatFloat(math.Round(s), 'f', 0, 64) }

var (
	frDays   = [...]string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."}
	frMonths = [...]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}
)

// formatTime renders t in UTC, in the locale's customary order; the zero
// time renders empty so templates can leave the line out.
func formatTime(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if lang == "fr" {
		return fmt.Sprintf("%s %d %s %d, %s UTC", frDays[t.Weekday()], t.Day(), frMonths[t.Month()-1], t.Year(), t.Format("15:04"))
	}
	return t.Format("Mon 2 Jan 2006, 15:04") + " UTC"
}
