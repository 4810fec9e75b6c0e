package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/longtailhq/longtail/internal/browsertest"
	"github.com/longtailhq/longtail/repqueue"
)

// artifacts is where the browser test leaves its screenshots
// (testdata/.gitignore keeps them out of the repository).
const artifacts = "testdata/artifacts"

// browser starts a headless Chromium for the test (browsertest.Start).
func browser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	return browsertest.Start(t, ctx)
}

// screenshot saves a full-page PNG under testdata/artifacts.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browsertest.Screenshot(t, ctx, artifacts, name)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// TestQueuePageInChromium is the rep's path in a real browser: sign in,
// read why to call, claim, record a callback; then the same page on a
// phone-sized screen.
func TestQueuePageInChromium(t *testing.T) {
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", map[string]string{"timezone": "Europe/Paris"})
	f.hot(t, "acme", "Acme IT", "rep1", 3)
	f.hot(t, "initech", "Initech Solutions", "rep1", 2)
	f.hot(t, "globex", "Globex Networks", "rep1", 1)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := browser(t, ctx)
	start := time.Now()

	if err := chromedp.Do(b,
		chromedp.Navigate(f.srv.URL+"/ui/login"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), "ltr_not-a-real-token"),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("login-error")),
	); err != nil {
		t.Fatalf("sign in with a bad token: %v", err)
	}
	screenshot(t, b, "login-error.png")
	if err := chromedp.Do(b,
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), tok),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("queue")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	// The stylesheet loaded under the CSP (an inline or blocked style would
	// leave the bar unstyled).
	if bg := eval[string](t, b, `getComputedStyle(document.querySelector('.topbar')).backgroundColor`); bg != "rgb(20, 33, 61)" {
		t.Errorf("top bar background %q: the stylesheet did not apply", bg)
	}
	if got := text(t, b, "#queue article:first-child .partner-name"); got != "Acme IT" {
		t.Errorf("first entry %q, want Acme IT (highest score)", got)
	}
	if got := text(t, b, "#p-acme .reasons li"); !strings.HasPrefix(got, "Attended the webinar") {
		t.Errorf("first reason %q", got)
	}
	if got := text(t, b, "#p-acme .contact-name"); !strings.Contains(got, "Jane Doe ACME") {
		t.Errorf("contact %q", got)
	}

	if err := chromedp.Do(b,
		chromedp.Click(chromedp.ID("claim-acme")),
		chromedp.WaitVisible(chromedp.ID("outcome-acme")),
	); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if href := eval[string](t, b, `document.getElementById('call-acme').getAttribute('href')`); href != "tel:+33123456789" {
		t.Errorf("call button links to %q", href)
	}
	if got := text(t, b, "#flash"); !strings.Contains(got, "You claimed Acme IT") {
		t.Errorf("flash after claim %q", got)
	}
	if e := f.entry(t, "acme"); e.State != repqueue.StateClaimed {
		t.Fatalf("entry %s after the Claim button, want claimed", e.State)
	}
	// Choosing "callback" reveals the time field (CSS :has, no script).
	if eval[bool](t, b, `document.getElementById('callback-acme').offsetParent !== null`) {
		t.Error("the callback time shows before a callback is chosen")
	}
	if err := chromedp.Do(b,
		chromedp.SetValue(chromedp.ID("outcome-acme"), repqueue.OutcomeCallback),
		chromedp.WaitVisible(chromedp.ID("callback-acme")),
		chromedp.SetValue(chromedp.ID("callback-acme"), "2026-11-17T15:30"),
		chromedp.SendKeys(chromedp.ID("note-acme"), "Wants a demo of the storage bundle"),
	); err != nil {
		t.Fatalf("fill the outcome: %v", err)
	}
	screenshot(t, b, "queue-claimed.png")
	if err := chromedp.Do(b,
		chromedp.Click(chromedp.ID("save-acme")),
		chromedp.WaitVisible(chromedp.ID("scheduled")),
	); err != nil {
		t.Fatalf("save the outcome: %v", err)
	}
	if got := text(t, b, "#flash"); got != "Callback for Acme IT scheduled for Tue 17 Nov, 15:30 CET." {
		t.Errorf("flash after the outcome %q", got)
	}
	if got := text(t, b, "#scheduled .sched"); !strings.Contains(got, "Acme IT") || !strings.Contains(got, "Tue 17 Nov, 15:30 CET") {
		t.Errorf("scheduled section %q", got)
	}
	e := f.entry(t, "acme")
	want := time.Date(2026, 11, 17, 14, 30, 0, 0, time.UTC)
	if e.State != repqueue.StateQueued || e.Outcome != repqueue.OutcomeCallback || e.CallbackAt == nil || !e.CallbackAt.Equal(want) ||
		e.Note != "Wants a demo of the storage bundle" {
		t.Fatalf("entry after the outcome: state %s outcome %s callback %v note %q", e.State, e.Outcome, e.CallbackAt, e.Note)
	}
	if sched, err := f.q.Scheduled(f.ctx, "rep1"); err != nil || len(sched) != 1 || sched[0].PartnerID != "acme" {
		t.Fatalf("Scheduled = %+v, %v", sched, err)
	}
	if loc := eval[string](t, b, `location.pathname`); loc != "/ui/queue" {
		t.Errorf("after the outcome the browser is at %s", loc)
	}
	screenshot(t, b, "queue.png")

	// A phone: a claimed entry with its form, nothing wider than the
	// screen.
	if err := chromedp.Do(b,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Click(chromedp.ID("claim-initech")),
		chromedp.WaitVisible(chromedp.ID("outcome-initech")),
		chromedp.SetValue(chromedp.ID("outcome-initech"), repqueue.OutcomeConverted),
		chromedp.WaitVisible(chromedp.ID("value-initech")),
	); err != nil {
		t.Fatalf("mobile: %v", err)
	}
	if w := eval[float64](t, b, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the page is %vpx wider than a 390px screen", w)
	}
	screenshot(t, b, "queue-mobile.png")
	t.Logf("browser steps took %s", time.Since(start).Round(time.Millisecond))
}
