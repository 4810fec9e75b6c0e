package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jordan-wright/email"
	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/outbox"
)

const adminKey = "test-admin-key-0123456789"

// outboxFixture is the rep pages with a real outbox: the embedded SMTP
// server capturing into its own Redis database, and a mailer sending to
// it over SMTP, as serve wires them with no smtp.url.
type outboxFixture struct {
	*fixture
	mail *mailer.Mailer
}

func setupOutbox(t *testing.T) *outboxFixture {
	t.Helper()
	box, err := outbox.NewStore(redistest.New(t), outbox.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := outbox.Start(outbox.ServerConfig{Store: box, Clock: func() time.Time { return monday10 }, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	m, err := mailer.New(mailer.Config{URL: sink.URL(), From: "Longtail <noreply@longtail.localhost>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return &outboxFixture{fixture: setup(t, Config{AdminKeys: []string{adminKey}, Outbox: box}), mail: m}
}

// send mails one nurture-like message with a hostile HTML part.
func (f *outboxFixture) send(t *testing.T, id, subject string) {
	t.Helper()
	e := email.NewEmail()
	e.From = "Anne Martin <anne@vendor.example>"
	e.To = []string{"Jane Doe <jane@acme.example>"}
	e.Subject = subject
	e.Text = []byte("Hi Jane,\n\nregistering a deal takes two minutes now.\n\nAnne")
	e.HTML = []byte(`<p id="inner">Hi Jane, <b>registering a deal</b> takes two minutes now.</p><script>parent.document.title='pwned'</script>`)
	e.Headers.Set("X-LT-Flow", "dealreg-owner-manager")
	e.Headers.Set("X-LT-Step", "welcome")
	if err := mailer.SetMessageID(e, id+"@longtail"); err != nil {
		t.Fatal(err)
	}
	if err := f.mail.Send(context.Background(), e); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func TestOutboxIsForAdminsOnly(t *testing.T) {
	t.Parallel()
	f := setupOutbox(t)
	tok := f.rep(t, "rep1", nil)
	f.send(t, "m1", "Deal registration made easy")

	anon := f.client(t)
	if r := anon.get("/ui/outbox"); r.status != http.StatusSeeOther || r.location() != "/ui/login" {
		t.Errorf("signed out: %d to %q, want the sign-in page", r.status, r.location())
	}
	if r := anon.get("/ui/outbox/1"); r.status != http.StatusSeeOther || r.location() != "/ui/login" {
		t.Errorf("signed out, one message: %d to %q", r.status, r.location())
	}

	rep := f.client(t)
	rep.signIn(tok)
	for _, path := range []string{"/ui/outbox", "/ui/outbox/1"} {
		if r := rep.get(path); r.status != http.StatusForbidden || strings.Contains(r.body, "Deal registration") {
			t.Errorf("a rep on %s: %d, want 403 without the message", path, r.status)
		}
	}

	bad := f.client(t)
	if r := bad.login("test-admin-key-wrong-123456"); r.status != http.StatusUnauthorized {
		t.Errorf("a wrong admin key signs in: %d to %q", r.status, r.location())
	}

	admin := f.client(t)
	if r := admin.login(adminKey); r.status != http.StatusSeeOther || r.location() != "/ui/outbox" {
		t.Fatalf("admin sign-in: %d to %q", r.status, r.location())
	}
	if r := admin.get("/ui/queue"); r.status != http.StatusSeeOther || r.location() != "/ui/outbox" {
		t.Errorf("an admin on the queue page: %d to %q, want the outbox", r.status, r.location())
	}
	list := admin.get("/ui/outbox")
	if list.status != http.StatusOK || !strings.Contains(list.body, "Deal registration made easy") ||
		!strings.Contains(list.body, "dealreg-owner-manager") || !strings.Contains(list.body, `href="/ui/outbox/1"`) {
		t.Fatalf("outbox list: %d\n%s", list.status, list.body)
	}
	if csp := list.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'none'") {
		t.Errorf("the outbox lost the pages' CSP: %q", csp)
	}
	msg := admin.get("/ui/outbox/1")
	if msg.status != http.StatusOK {
		t.Fatalf("message page: %d", msg.status)
	}
	for _, want := range []string{
		"registering a deal takes two minutes now.",                  // text part
		`sandbox title="HTML part" srcdoc="&lt;p id=&#34;inner&#34;`, // HTML only in a sandboxed frame
		"&lt;script&gt;parent.document.title",                        // and escaped in the source view
		"X-Lt-Flow", "Message-Id",                                    // headers
	} {
		if !strings.Contains(msg.body, want) {
			t.Errorf("message page does not contain %q:\n%s", want, msg.body)
		}
	}
	if strings.Contains(msg.body, "<script>") || strings.Contains(msg.body, `<p id="inner">`) {
		t.Errorf("the message's HTML reached the page unescaped:\n%s", msg.body)
	}
	for _, path := range []string{"/ui/outbox/999", "/ui/outbox/abc"} {
		if r := admin.get(path); r.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, r.status)
		}
	}

	// An admin signs out like a rep: CSRF token required.
	page := admin.get("/ui/outbox")
	if r := admin.post("/ui/logout", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("sign-out without the CSRF token: %d", r.status)
	}
	if r := admin.post("/ui/logout", url.Values{"csrf": {admin.csrf(page.body)}}); r.status != http.StatusSeeOther {
		t.Errorf("admin sign-out: %d", r.status)
	}
	if r := admin.get("/ui/outbox"); r.status != http.StatusSeeOther {
		t.Errorf("after sign-out the outbox answers %d", r.status)
	}

	// Taking the key out of api.keys ends its sessions: the same Redis
	// behind pages configured without it.
	h2, err := New(Config{Outbox: f.fixture.srvOutbox(t)}, f.q, f.outcomes, f.tok, f.dir, f.rdb, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h2.Register(mux)
	srv2 := httptest.NewServer(mux)
	t.Cleanup(srv2.Close)
	again := f.client(t)
	if r := again.login(adminKey); r.location() != "/ui/outbox" {
		t.Fatalf("admin sign-in went to %q", r.location())
	}
	stale := *again
	stale.base = srv2.URL
	stale.http.Jar.SetCookies(mustURL(t, srv2.URL+"/ui"), []*http.Cookie{again.cookie(sessionCookie)})
	if r := stale.get("/ui/outbox"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/ui/login") {
		t.Errorf("a session whose key was removed: %d to %q, want the sign-in page", r.status, r.location())
	}
}

func TestOutboxWithoutCapture(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{AdminKeys: []string{adminKey}})
	c := f.client(t)
	if r := c.login(adminKey); r.location() != "/ui/outbox" {
		t.Fatalf("admin sign-in went to %q", r.location())
	}
	if r := c.get("/ui/outbox"); r.status != http.StatusOK || !strings.Contains(r.body, `id="outbox-disabled"`) {
		t.Errorf("outbox with smtp.url set: %d\n%s", r.status, r.body)
	}
	if r := c.get("/ui/outbox/1"); r.status != http.StatusNotFound {
		t.Errorf("a message with smtp.url set: %d, want 404", r.status)
	}
}

// srvOutbox is an empty outbox for a second handler.
func (f *fixture) srvOutbox(t *testing.T) Outbox {
	t.Helper()
	box, err := outbox.NewStore(redistest.New(t), outbox.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestOutboxInChromium: a message sent through the mailer to the embedded
// server shows in the admin's list, and its page shows the subject, the
// text and the HTML, the HTML rendered in a frame that cannot script.
func TestOutboxInChromium(t *testing.T) {
	f := setupOutbox(t)
	f.send(t, "m1", "Deal registration made easy")
	f.send(t, "m2", "Le webinar sécurité, jeudi")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := browser(t, ctx)
	if err := chromedp.Do(b,
		chromedp.Navigate(f.srv.URL+"/ui/login"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), adminKey),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("outbox")),
	); err != nil {
		t.Fatalf("admin sign-in: %v", err)
	}
	if got := text(t, b, "#outbox tbody tr:first-child .outbox-subject"); got != "Le webinar sécurité, jeudi" {
		t.Errorf("newest message %q, want the French one", got)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#outbox tbody tr').length`); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
	screenshot(t, b, "outbox.png")
	if err := chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`#m-1 .outbox-subject`)),
		chromedp.WaitVisible(chromedp.ID("message")),
	); err != nil {
		t.Fatalf("open a message: %v", err)
	}
	if got := text(t, b, "#subject"); got != "Deal registration made easy" {
		t.Errorf("subject %q", got)
	}
	if got := text(t, b, "#text"); !strings.Contains(got, "registering a deal takes two minutes now.") {
		t.Errorf("text part %q", got)
	}
	if got := eval[string](t, b, `document.getElementById('html').getAttribute('srcdoc')`); !strings.Contains(got, `<b>registering a deal</b>`) {
		t.Errorf("HTML frame srcdoc %q", got)
	}
	if got := eval[string](t, b, `document.getElementById('html').getAttribute('sandbox')`); got != "" {
		t.Errorf("sandbox = %q, want the empty (strictest) sandbox", got)
	}
	// The frame's script did not run: it would have renamed this page.
	if title := eval[string](t, b, `document.title`); title == "pwned" || !strings.Contains(title, "Deal registration made easy") {
		t.Errorf("page title %q: the message's script ran, or the title is wrong", title)
	}
	screenshot(t, b, "outbox-message.png")
}
