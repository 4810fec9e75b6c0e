package ui

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/longtailhq/longtail/outcome"
	"github.com/longtailhq/longtail/repqueue"
)

// queueData is the queue page.
type queueData struct {
	base
	Entries   []entryView
	Scheduled []entryView
	Outcomes  []outcomeOption
	// Zone names the time zone times are shown and read in.
	Zone string
	// MinCallback is the earliest callback a form offers (datetime-local).
	MinCallback string
}

type entryView struct {
	PartnerID   string
	PartnerName string
	// The partner's switchboard (as a tel: link too) and website.
	PartnerPhone   string
	PartnerTel     template.URL
	PartnerWebsite string
	Anchor         string
	ClaimURL       string
	OutcomeURL     string
	Score          string
	Segment        string
	Claimed        bool
	Escalated      bool
	Due            string
	DueISO         string
	DueIn          string
	Overdue        bool
	// Reasons in the rep's language, and that language's tag.
	Reasons     []string
	ReasonsLang string
	Contact     *contactView
	Interests   []interestView
	Attempts    int
	// For scheduled entries: when they come back and why.
	Available    string
	AvailableISO string
	LastOutcome  string
	Note         string
	// Form holds what the rep typed when the outcome was refused.
	Form outcomeForm
}

type contactView struct {
	Name      string
	Title     string
	Email     string
	MailTo    string
	Phone     string
	Tel       template.URL
	Persona   string
	Timezone  string
	LocalTime string
}

type interestView struct {
	Topic  string
	Points string
}

type outcomeOption struct {
	Value string
	Label string
}

// outcomeForm is an outcome as submitted.
type outcomeForm struct {
	Kind       string
	Note       string
	CallbackAt string
	Value      string
}

// outcomeLabels are the words a rep reads for each outcome kind.
var outcomeLabels = map[string]string{
	repqueue.OutcomeConverted:    "Converted: deal won",
	repqueue.OutcomeCallback:     "Call back at a set time",
	repqueue.OutcomeNotNow:       "Not now",
	repqueue.OutcomeNotAFit:      "Not a fit",
	repqueue.OutcomeWrongContact: "Wrong contact",
	repqueue.OutcomeNoAnswer:     "No answer",
}

// outcomeShort names the last outcome on a scheduled entry.
var outcomeShort = map[string]string{
	repqueue.OutcomeConverted:    "Converted",
	repqueue.OutcomeCallback:     "Callback",
	repqueue.OutcomeNotNow:       "Not now",
	repqueue.OutcomeNotAFit:      "Not a fit",
	repqueue.OutcomeWrongContact: "Wrong contact",
	repqueue.OutcomeNoAnswer:     "No answer",
}

func outcomeLabel(kind string) string {
	if l, ok := outcomeLabels[kind]; ok {
		return l
	}
	return kind
}

const (
	// maxInterests shown per entry: the strongest topics are what a call
	// opens with.
	maxInterests = 5
	// formTime is the datetime-local input's value format.
	formTime = "2006-01-02T15:04"
)

func (h *Handler) queuePage(w http.ResponseWriter, r *http.Request, s *session) {
	f, err := h.sessions.takeFlash(r.Context(), s.hash)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.showQueue(w, r, s, http.StatusOK, f, "", outcomeForm{})
}

// showQueue renders the rep's queue with a message; retry, when set,
// refills the outcome form of partner retryPID.
func (h *Handler) showQueue(w http.ResponseWriter, r *http.Request, s *session, status int, f *flash, retryPID string, retry outcomeForm) {
	ctx := r.Context()
	list, err := h.q.List(ctx, s.repID)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	later, err := h.q.Scheduled(ctx, s.repID)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	loc, zone := h.repZone(s)
	now := h.now()
	d := queueData{base: h.base(s, "Call queue"), Zone: zone, MinCallback: now.In(loc).Format(formTime)}
	d.Flash = f
	lang := repLang(s)
	for _, e := range list {
		v := h.entryView(e, lang, loc, now)
		if e.PartnerID == retryPID {
			v.Form = retry
		}
		d.Entries = append(d.Entries, v)
	}
	for _, e := range later {
		d.Scheduled = append(d.Scheduled, h.entryView(e, lang, loc, now))
	}
	for _, k := range repqueue.Outcomes() {
		d.Outcomes = append(d.Outcomes, outcomeOption{Value: k, Label: outcomeLabel(k)})
	}
	h.render(w, status, pageQueue, d)
}

// repZone is the rep's time zone (Attrs["timezone"]), else UTC.
func (h *Handler) repZone(s *session) (*time.Location, string) {
	if name := s.rep.Attrs["timezone"]; name != "" {
		if loc := h.location(name); loc != nil {
			return loc, name
		}
	}
	return time.UTC, "UTC"
}

// repLang is the language of the rep's locale ("fr" of "fr-CA"), else en.
func repLang(s *session) string {
	l := strings.ToLower(s.rep.Attrs["locale"])
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	if l == "" {
		return "en"
	}
	return l
}

func (h *Handler) entryView(e repqueue.Entry, lang string, loc *time.Location, now time.Time) entryView {
	pid := url.PathEscape(e.PartnerID)
	v := entryView{
		PartnerID:    e.PartnerID,
		PartnerName:  cmp.Or(e.PartnerName, e.PartnerID),
		PartnerPhone: e.PartnerPhone, PartnerTel: telURL(e.PartnerPhone), PartnerWebsite: e.PartnerWebsite,
		Anchor:      "p-" + e.PartnerID,
		ClaimURL:    "/ui/queue/" + pid + "/claim",
		OutcomeURL:  "/ui/queue/" + pid + "/outcome",
		Score:       strconv.FormatFloat(math.Round(e.Score), 'f', 0, 64),
		Segment:     strings.ReplaceAll(e.Segment, "_", " "),
		Claimed:     e.State == repqueue.StateClaimed,
		Escalated:   e.Escalated,
		Attempts:    e.Attempts,
		LastOutcome: e.Outcome,
		Note:        e.Note,
	}
	if e.Outcome != "" {
		v.LastOutcome = cmp.Or(outcomeShort[e.Outcome], e.Outcome)
	}
	if !e.DueAt.IsZero() {
		v.Due = when(e.DueAt, loc, now)
		v.DueISO = e.DueAt.UTC().Format(time.RFC3339)
		v.Overdue = now.After(e.DueAt)
		v.DueIn = relative(e.DueAt.Sub(now))
	}
	if !e.AvailableAt.IsZero() {
		v.Available = when(e.AvailableAt, loc, now)
		v.AvailableISO = e.AvailableAt.UTC().Format(time.RFC3339)
	}
	v.Reasons, v.ReasonsLang = reasonsFor(e.Reasons, lang)
	if c := e.Contact; c != nil {
		cv := &contactView{Name: c.Name, Title: c.Title, Email: c.Email, Phone: c.Phone, Persona: c.Persona, Timezone: c.Timezone}
		if c.Email != "" {
			cv.MailTo = (&url.URL{Scheme: "mailto", Opaque: c.Email}).String()
		}
		cv.Tel = telURL(c.Phone)
		if loc := h.location(c.Timezone); loc != nil {
			cv.LocalTime = now.In(loc).Format("15:04")
		}
		v.Contact = cv
	}
	for topic, pts := range e.Interests {
		if pts > 0 {
			v.Interests = append(v.Interests, interestView{Topic: topic, Points: strconv.FormatFloat(pts, 'f', 0, 64)})
		}
	}
	slices.SortFunc(v.Interests, func(a, b interestView) int {
		if c := cmp.Compare(e.Interests[b.Topic], e.Interests[a.Topic]); c != 0 {
			return c
		}
		return cmp.Compare(a.Topic, b.Topic)
	})
	if len(v.Interests) > maxInterests {
		v.Interests = v.Interests[:maxInterests]
	}
	return v
}

// reasonsFor picks the reasons in lang, else English, else any language
// there is (the first in name order, so the page is stable).
func reasonsFor(reasons map[string][]string, lang string) ([]string, string) {
	if r := reasons[lang]; len(r) > 0 {
		return r, lang
	}
	if r := reasons["en"]; len(r) > 0 {
		return r, "en"
	}
	langs := make([]string, 0, len(reasons))
	for l, r := range reasons {
		if len(r) > 0 {
			langs = append(langs, l)
		}
	}
	if len(langs) == 0 {
		return nil, lang
	}
	slices.Sort(langs)
	return reasons[langs[0]], langs[0]
}

// telURL makes a tel: link of a phone number as people write it, keeping
// only a leading + and digits; html/template refuses tel: URLs it did not
// get as a template.URL, and this one holds nothing else.
func telURL(phone string) template.URL {
	var b strings.Builder
	for i, r := range strings.TrimSpace(phone) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		}
	}
	if n := b.Len(); n == 0 || (n == 1 && strings.HasPrefix(b.String(), "+")) {
		return ""
	}
	return template.URL("tel:" + b.String())
}

// when formats t for the rep: weekday, day, month and time in loc, with
// the year only when it is not the current one.
func when(t time.Time, loc *time.Location, now time.Time) string {
	t = t.In(loc)
	layout := "Mon 2 Jan, 15:04 MST"
	if t.Year() != now.In(loc).Year() {
		layout = "Mon 2 Jan 2006, 15:04 MST"
	}
	return t.Format(layout)
}

// relative says a duration the way a rep reads it: "in 3 hours",
// "2 days ago".
func relative(d time.Duration) string {
	past := d < 0
	if past {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	default:
		s = plural(int(d/(24*time.Hour)), "day")
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

func (h *Handler) claim(w http.ResponseWriter, r *http.Request, s *session) {
	pid := r.PathValue("partner")
	e, err := h.q.Claim(r.Context(), s.repID, pid)
	if err != nil {
		h.actionFailed(w, r, s, "claim", pid, err, outcomeForm{})
		return
	}
	who := "the partner"
	if e.Contact != nil && e.Contact.Name != "" {
		who = e.Contact.Name
	}
	h.log.Info().Str("rep_id", s.repID).Str("partner_id", pid).Msg("entry claimed")
	h.done(w, r, s, "p-"+e.PartnerID, fmt.Sprintf("You claimed %s. Call %s, then record the outcome below.", cmp.Or(e.PartnerName, pid), who))
}

func (h *Handler) outcome(w http.ResponseWriter, r *http.Request, s *session) {
	pid := r.PathValue("partner")
	form := outcomeForm{
		Kind:       r.PostForm.Get("kind"),
		Note:       r.PostForm.Get("note"),
		CallbackAt: strings.TrimSpace(r.PostForm.Get("callback_at")),
		Value:      strings.TrimSpace(r.PostForm.Get("value")),
	}
	loc, _ := h.repZone(s)
	o, err := parseOutcome(form, loc)
	if err != nil {
		h.actionFailed(w, r, s, "outcome", pid, err, form)
		return
	}
	e, err := h.outcomes.Record(r.Context(), s.repID, pid, o)
	if errors.Is(err, outcome.ErrFollowUp) {
		h.followUpFailed(w, s, pid, e, err, form)
		return
	}
	if err != nil {
		h.actionFailed(w, r, s, "outcome", pid, err, form)
		return
	}
	h.log.Info().Str("rep_id", s.repID).Str("partner_id", pid).Str("outcome", o.Kind).Msg("outcome recorded")
	name := cmp.Or(e.PartnerName, pid)
	var msg string
	switch o.Kind {
	case repqueue.OutcomeCallback:
		msg = fmt.Sprintf("Callback for %s scheduled for %s.", name, when(*o.CallbackAt, loc, h.now()))
	case repqueue.OutcomeConverted:
		msg = fmt.Sprintf("Deal recorded for %s (value %s). Well done!", name, strconv.FormatFloat(o.Value, 'f', -1, 64))
	case repqueue.OutcomeNoAnswer:
		if e.State == repqueue.StateQueued {
			msg = fmt.Sprintf("No answer from %s: it comes back to your queue %s.", name, relative(e.AvailableAt.Sub(h.now())))
		} else {
			msg = fmt.Sprintf("No answer from %s again: the entry is closed and the partner goes back to nurture.", name)
		}
	default:
		msg = fmt.Sprintf("Recorded “%s” for %s.", outcomeLabel(o.Kind), name)
	}
	h.done(w, r, s, "", msg)
}

// parseOutcome reads an outcome form. The callback time is read only for
// a callback and the value only for a conversion: without JavaScript the
// form shows every field, and a stray entry must not fail the outcome.
func parseOutcome(f outcomeForm, loc *time.Location) (repqueue.Outcome, error) {
	o := repqueue.Outcome{Kind: f.Kind, Note: strings.TrimSpace(f.Note)}
	if f.Kind == "" {
		return o, fmt.Errorf("%w: choose an outcome", repqueue.ErrInvalid)
	}
	switch f.Kind {
	case repqueue.OutcomeCallback:
		if f.CallbackAt == "" {
			return o, fmt.Errorf("%w: choose when to call back", repqueue.ErrInvalid)
		}
		t, err := parseFormTime(f.CallbackAt, loc)
		if err != nil {
			return o, fmt.Errorf("%w: the callback time %q is not a date and time", repqueue.ErrInvalid, f.CallbackAt)
		}
		o.CallbackAt = &t
	case repqueue.OutcomeConverted:
		if f.Value != "" {
			v, err := strconv.ParseFloat(strings.ReplaceAll(f.Value, ",", ""), 64)
			if err != nil {
				return o, fmt.Errorf("%w: the deal value %q is not a number", repqueue.ErrInvalid, f.Value)
			}
			o.Value = v
		}
	}
	return o, nil
}

func parseFormTime(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{formTime, "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad time")
}

// done ends a successful action: the message goes to the next queue page
// (post/redirect/get, so a reload never repeats the action).
func (h *Handler) done(w http.ResponseWriter, r *http.Request, s *session, anchor, msg string) {
	if err := h.sessions.setFlash(r.Context(), s.hash, flash{Kind: "ok", Message: msg}); err != nil {
		h.log.Error().Err(err).Msg("flash")
	}
	target := "/ui/queue"
	if anchor != "" {
		target += "#" + url.PathEscape(anchor)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// actionFailed maps the queue's errors to what the rep sees: another
// rep's entry is a 403 page, an unknown one a 404 page; a refused action
// shows the queue again with the reason and the form as typed.
func (h *Handler) actionFailed(w http.ResponseWriter, r *http.Request, s *session, action, pid string, err error, form outcomeForm) {
	lg := h.log.With().Str("rep_id", s.repID).Str("partner_id", pid).Str("action", action).Err(err).Logger()
	switch {
	case errors.Is(err, repqueue.ErrForbidden):
		lg.Warn().Msg("rep action forbidden")
		h.errorPage(w, s, http.StatusForbidden, "Not in your queue",
			"This partner is not in your queue: it may have been reassigned to another rep. Your queue shows what is yours to call.")
	case errors.Is(err, repqueue.ErrNotFound):
		h.errorPage(w, s, http.StatusNotFound, "Not found", "There is no call queue entry for this partner.")
	case errors.Is(err, repqueue.ErrInvalid):
		lg.Info().Msg("rep action refused")
		h.showQueue(w, r, s, http.StatusUnprocessableEntity, &flash{Kind: "error", Message: invalidMessage(err)}, pid, form)
	case errors.Is(err, repqueue.ErrConflict):
		h.showQueue(w, r, s, http.StatusConflict, &flash{Kind: "error",
			Message: "The entry changed while you were saving. Check it and try again."}, pid, form)
	default:
		lg.Error().Msg("rep action failed")
		h.errorPage(w, s, http.StatusInternalServerError, "Something went wrong",
			"Your change could not be saved because of a problem on our side. Try again in a minute.")
	}
}

// followUpFailed answers an outcome that is recorded but whose follow-ups
// (the deal for scoring, the CRM webhooks) could not be queued: the rep is
// told so and offered the same outcome again, which changes nothing in the
// queue and completes the rest (package outcome).
func (h *Handler) followUpFailed(w http.ResponseWriter, s *session, pid string, e *repqueue.Entry, err error, form outcomeForm) {
	h.log.Error().Err(err).Str("rep_id", s.repID).Str("partner_id", pid).Str("outcome", form.Kind).Msg("outcome recorded, follow-up failed")
	d := errorData{
		base: h.base(s, "Outcome saved, not finished"), Status: http.StatusServiceUnavailable,
		Heading: "Outcome saved, not finished",
		Message: fmt.Sprintf("Your outcome for %s is saved, but passing it on (to scoring and to your CRM) did not finish. "+
			"Submit it again to finish: nothing is recorded twice.", cmp.Or(e.PartnerName, pid)),
		Retry: &retryForm{Action: "/ui/queue/" + pid + "/outcome", Label: "Submit again", Fields: []formField{
			{"kind", form.Kind}, {"note", form.Note}, {"callback_at", form.CallbackAt}, {"value", form.Value},
		}},
	}
	h.render(w, http.StatusServiceUnavailable, pageError, d)
}

// invalidMessage turns "invalid: choose an outcome" into "Choose an
// outcome.".
func invalidMessage(err error) string {
	msg := err.Error()
	// ErrState's text starts with ErrInvalid's: cut the longer first.
	for _, sentinel := range []error{repqueue.ErrState, repqueue.ErrInvalid} {
		if i := strings.Index(msg, sentinel.Error()+": "); i >= 0 {
			msg = msg[i+len(sentinel.Error())+2:]
			break
		}
	}
	r, n := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
