package ui

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

func TestSignInRefusesBadTokensWithoutSaying(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	good := f.rep(t, "rep1", nil)
	revoked := f.rep(t, "rep2", nil)
	if err := f.tok.Revoke(f.ctx, "rep2", revoked); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token string
		want        int
		msg         string
	}{
		{"unknown", "ltr_" + strings.Repeat("x", 43), http.StatusUnauthorized, badToken},
		{"revoked", revoked, http.StatusUnauthorized, badToken},
		{"not a token", "hunter2", http.StatusUnauthorized, badToken},
		{"tampered", good + "x", http.StatusUnauthorized, badToken},
		{"empty", "  ", http.StatusUnauthorized, "Enter your rep token."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.client(t)
			r := c.login(tc.token)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d", r.status, tc.want)
			}
			if !strings.Contains(r.body, tc.msg) {
				t.Errorf("page lacks %q:\n%s", tc.msg, r.body)
			}
			if ck := setCookie(r, sessionCookie); ck != nil {
				t.Errorf("a failed sign-in set a session cookie %v", ck)
			}
			if r := c.get("/ui/queue"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/ui/login") {
				t.Errorf("queue after a failed sign-in: %d to %q", r.status, r.location())
			}
		})
	}
	if n := countKeys(t, f, keyPrefix+"session:*"); n != 0 {
		t.Errorf("%d sessions exist after failed sign-ins", n)
	}
}

func TestSignInNeedsTheLoginFormToken(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	for _, tc := range []struct {
		name string
		form func(csrf string) url.Values
	}{
		{"missing", func(string) url.Values { return url.Values{"token": {tok}} }},
		{"wrong", func(string) url.Values { return url.Values{"token": {tok}, "csrf": {strings.Repeat("A", 43)}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.client(t)
			page := c.get("/ui/login")
			r := c.post("/ui/login", tc.form(c.csrf(page.body)))
			if r.status != http.StatusForbidden || setCookie(r, sessionCookie) != nil {
				t.Fatalf("status %d, session cookie %v; want 403 and none", r.status, setCookie(r, sessionCookie))
			}
		})
	}
	// A form posted without ever loading the page (no cookie) is refused
	// too: that is the login CSRF a hostile page would try.
	c := f.client(t)
	if r := c.post("/ui/login", url.Values{"token": {tok}, "csrf": {strings.Repeat("A", 43)}}); r.status != http.StatusForbidden {
		t.Fatalf("sign-in without the form's cookie: %d, want 403", r.status)
	}
	c.origin = "https://evil.example"
	page := c.get("/ui/login")
	if r := c.post("/ui/login", url.Values{"token": {tok}, "csrf": {c.csrf(page.body)}}); r.status != http.StatusForbidden {
		t.Fatalf("cross-origin sign-in: %d, want 403", r.status)
	}
}

func TestSignInStartsASessionAndShowsTheQueue(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", map[string]string{"timezone": "Europe/Paris"})
	f.hot(t, "acme", "Acme IT", "rep1", 1)
	f.hot(t, "globex", "Globex Networks", "rep1", 3)
	c := f.client(t)
	r := c.login(tok)
	if r.status != http.StatusSeeOther || r.location() != "/ui/queue" {
		t.Fatalf("sign-in: %d to %q", r.status, r.location())
	}
	ck := setCookie(r, sessionCookie)
	if ck == nil || !ck.HttpOnly || ck.Path != "/ui" || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, Path=/ui, SameSite=Lax, not Secure by default", ck)
	}
	if ck.MaxAge != int(defaultSessionTTL/time.Second) || len(ck.Value) != 43 {
		t.Errorf("session cookie MaxAge %d, value length %d", ck.MaxAge, len(ck.Value))
	}
	// Redis keeps the token's digest, never the token or the session id.
	key := sessionKey(digest(ck.Value))
	h, err := f.rdb.HGetAll(f.ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if h["rep"] != "rep1" || h["tok"] != digest(tok) {
		t.Errorf("session %v", h)
	}
	if ttl := f.rdb.TTL(f.ctx, key).Val(); ttl <= defaultSessionTTL-time.Minute || ttl > defaultSessionTTL {
		t.Errorf("session TTL %s, want about %s", ttl, defaultSessionTTL)
	}
	assertNoSecretInRedis(t, f, tok, ck.Value)

	body, _ := c.queue()
	for _, want := range []string{
		"Rep REP1", "Acme IT", "Globex Networks",
		// English reasons (the rep has no locale).
		"Clicked &#39;New security product&#39;",
		"Attended the webinar &#39;Securing SMB storage 1&#39;",
		"Jane Doe ACME", `href="mailto:jane@acme.example"`, `href="tel:&#43;33123456789"`, "&#43;33 1 23 45 67 89",
		"technical", "Europe/Paris", "storage", "security",
		// Due Thursday 10:00 UTC, shown in the rep's zone.
		"Thu 19 Nov, 11:00 CET", "in 3 days",
		`action="/ui/queue/acme/claim"`, "times in Europe/Paris",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("queue page lacks %q", want)
		}
	}
	// Highest score first.
	if g, a := strings.Index(body, "Globex Networks"), strings.Index(body, "Acme IT"); g < 0 || a < 0 || g > a {
		t.Errorf("Globex (3 webinars) should come before Acme (1): at %d and %d", g, a)
	}
	if strings.Contains(body, "Overdue") {
		t.Error("nothing is overdue yet")
	}
	f.clock.Advance(4 * 24 * time.Hour)
	if body, _ := c.queue(); !strings.Contains(body, "Overdue") || !strings.Contains(body, "24 hours ago") {
		t.Error("a past due date is not marked overdue")
	}
}

func TestReasonsInTheRepsLocale(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	fr := f.rep(t, "rep1", map[string]string{"locale": "fr-FR"})
	f.hot(t, "acme", "Acme IT", "rep1", 1)
	de := f.rep(t, "rep2", map[string]string{"locale": "de"})
	f.hot(t, "initech", "Initech", "rep2", 1)
	for _, tc := range []struct {
		token, want, lang string
	}{
		{fr, "A cliqué sur « New security product »", `lang="fr"`},
		// No German reasons: English.
		{de, "Clicked &#39;New security product&#39;", `lang="en"`},
	} {
		c := f.client(t)
		c.signIn(tc.token)
		body, _ := c.queue()
		if !strings.Contains(body, tc.want) || !strings.Contains(body, tc.lang) {
			t.Errorf("page lacks %q with %s", tc.want, tc.lang)
		}
	}
}

func TestFormsWithoutCSRFProofAreRefused(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	f.hot(t, "acme", "Acme IT", "rep1", 1)
	c := f.client(t)
	c.signIn(tok)
	_, csrf := c.queue()
	for _, tc := range []struct {
		name    string
		form    url.Values
		headers map[string]string
	}{
		{"no token", url.Values{}, nil},
		{"wrong token", url.Values{"csrf": {strings.Repeat("A", 43)}}, nil},
		{"token of another session", url.Values{"csrf": {otherCSRF(t, f, tok)}}, nil},
		{"foreign origin", url.Values{"csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}},
		{"foreign referer", url.Values{"csrf": {csrf}}, map[string]string{"Origin": "", "Referer": "https://evil.example/page"}},
		{"no origin nor referer", url.Values{"csrf": {csrf}}, map[string]string{"Origin": ""}},
		{"cross-site fetch", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"null origin", url.Values{"csrf": {csrf}}, map[string]string{"Origin": "null"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, c.base+"/ui/queue/acme/claim", strings.NewReader(tc.form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", c.base)
			for k, v := range tc.headers {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			if r := c.do(req); r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", r.status)
			}
			if e := f.entry(t, "acme"); e.State != repqueue.StateQueued {
				t.Fatalf("entry is %s after a refused claim", e.State)
			}
		})
	}
	// The same form with the proof goes through, also with Referer only.
	c.origin = ""
	req, err := http.NewRequest(http.MethodPost, c.base+"/ui/queue/acme/claim", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", c.base+"/ui/queue")
	if r := c.do(req); r.status != http.StatusSeeOther {
		t.Fatalf("claim with the proof: %d\n%s", r.status, r.body)
	}
	if e := f.entry(t, "acme"); e.State != repqueue.StateClaimed {
		t.Fatalf("entry is %s, want claimed", e.State)
	}
}

// otherCSRF signs in a second session of the rep and returns its CSRF
// token.
func otherCSRF(t *testing.T, f *fixture, tok string) string {
	t.Helper()
	c := f.client(t)
	c.signIn(tok)
	_, csrf := c.queue()
	return csrf
}

func TestClaimThenOutcomeNotNow(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	f.hot(t, "acme", "Acme IT", "rep1", 1)
	f.hot(t, "globex", "Globex Networks", "rep1", 2)
	c := f.client(t)
	c.signIn(tok)
	_, csrf := c.queue()

	r := c.post("/ui/queue/acme/claim", url.Values{"csrf": {csrf}})
	if r.status != http.StatusSeeOther || r.location() != "/ui/queue#p-acme" {
		t.Fatalf("claim: %d to %q", r.status, r.location())
	}
	if e := f.entry(t, "acme"); e.State != repqueue.StateClaimed || e.ClaimedAt == nil {
		t.Fatalf("after claim: state %s claimed at %v", e.State, e.ClaimedAt)
	}
	body, _ := c.queue()
	for _, want := range []string{"You claimed Acme IT. Call Jane Doe ACME", `action="/ui/queue/acme/outcome"`,
		`id="outcome-acme"`, `value="not_now"`, `type="datetime-local"`, `id="claim-globex"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page after claim lacks %q", want)
		}
	}
	if strings.Contains(body, `id="claim-acme"`) {
		t.Error("a claimed entry still offers Claim")
	}
	// The message shows once.
	if again, _ := c.queue(); strings.Contains(again, "You claimed") {
		t.Error("the flash message showed twice")
	}

	// A callback time sent with another outcome is ignored, not an error:
	// without CSS support the field is on screen for every outcome.
	r = c.post("/ui/queue/acme/outcome", url.Values{"csrf": {csrf}, "kind": {"not_now"},
		"note": {"  Budget frozen until Q2  "}, "callback_at": {"2026-11-20T10:00"}, "value": {"5"}})
	if r.status != http.StatusSeeOther || r.location() != "/ui/queue" {
		t.Fatalf("outcome: %d to %q\n%s", r.status, r.location(), r.body)
	}
	e := f.entry(t, "acme")
	if e.State != repqueue.StateClosed || e.Outcome != repqueue.OutcomeNotNow || e.Note != "Budget frozen until Q2" || e.CallbackAt != nil || e.Value != 0 {
		t.Fatalf("after outcome: %+v", e)
	}
	body, _ = c.queue()
	if !strings.Contains(body, "Recorded “Not now” for Acme IT.") {
		t.Error("no confirmation of the outcome")
	}
	if strings.Contains(body, "Acme IT</h2>") {
		t.Error("the closed entry is still in the queue")
	}
	list, err := f.q.List(f.ctx, "rep1")
	if err != nil || len(list) != 1 || list[0].PartnerID != "globex" {
		t.Fatalf("queue after outcome: %+v, %v", list, err)
	}
	if seen := f.seen(t); len(seen) != 1 || seen[0].Outcome.Outcome != repqueue.OutcomeNotNow || seen[0].PartnerID != "acme" {
		t.Errorf("the outcome passed on %+v, want the not_now of acme once", seen)
	}
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		form  url.Values
		check func(t *testing.T, f *fixture, e *repqueue.Entry, page string)
	}{
		{"callback in the rep's zone", url.Values{"kind": {"callback"}, "callback_at": {"2026-11-17T15:30"}, "note": {"Call after lunch"}},
			func(t *testing.T, f *fixture, e *repqueue.Entry, page string) {
				want := time.Date(2026, 11, 17, 14, 30, 0, 0, time.UTC)
				if e.State != repqueue.StateQueued || e.CallbackAt == nil || !e.CallbackAt.Equal(want) || !e.AvailableAt.Equal(want) {
					t.Fatalf("entry %+v, want queued with callback at %s", e, want)
				}
				sched, err := f.q.Scheduled(f.ctx, "rep1")
				if err != nil || len(sched) != 1 {
					t.Fatalf("scheduled %v, %v", sched, err)
				}
				for _, s := range []string{"Callback for Acme IT scheduled for Tue 17 Nov, 15:30 CET.", `id="scheduled"`,
					"Tue 17 Nov, 15:30 CET", "Call after lunch", "Callback"} {
					if !strings.Contains(page, s) {
						t.Errorf("page lacks %q", s)
					}
				}
			}},
		{"converted with a value", url.Values{"kind": {"converted"}, "value": {"12,500.50"}, "callback_at": {"2026-11-17T15:30"}},
			func(t *testing.T, f *fixture, e *repqueue.Entry, page string) {
				if e.State != repqueue.StateClosed || e.Outcome != repqueue.OutcomeConverted || e.Value != 12500.5 || e.CallbackAt != nil {
					t.Fatalf("entry %+v", e)
				}
				if !strings.Contains(page, "Deal recorded for Acme IT (value 12500.5)") {
					t.Error("no confirmation")
				}
				if seen := f.seen(t); len(seen) != 1 || seen[0].Deal == nil || seen[0].Deal.Value != 12500.5 {
					t.Errorf("the deal was not passed on to scoring: %+v", seen)
				}
			}},
		{"no answer", url.Values{"kind": {"no_answer"}},
			func(t *testing.T, f *fixture, e *repqueue.Entry, page string) {
				if e.State != repqueue.StateQueued || e.Attempts != 1 {
					t.Fatalf("entry %+v", e)
				}
				if !strings.Contains(page, "No answer from Acme IT: it comes back to your queue in") {
					t.Error("no confirmation")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, Config{})
			tok := f.rep(t, "rep1", map[string]string{"timezone": "Europe/Paris"})
			f.hot(t, "acme", "Acme IT", "rep1", 1)
			c := f.client(t)
			c.signIn(tok)
			_, csrf := c.queue()
			if r := c.post("/ui/queue/acme/claim", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
				t.Fatalf("claim: %d", r.status)
			}
			tc.form.Set("csrf", csrf)
			if r := c.post("/ui/queue/acme/outcome", tc.form); r.status != http.StatusSeeOther {
				t.Fatalf("outcome: %d\n%s", r.status, r.body)
			}
			page, _ := c.queue()
			tc.check(t, f, f.entry(t, "acme"), page)
		})
	}
}

func TestRefusedOutcomeShowsTheQueueWithTheReason(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	f.hot(t, "acme", "Acme IT", "rep1", 1)
	c := f.client(t)
	c.signIn(tok)
	_, csrf := c.queue()
	// An outcome before the claim is refused by the queue itself.
	r := c.post("/ui/queue/acme/outcome", url.Values{"csrf": {csrf}, "kind": {"not_now"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "claim it before recording an outcome") || strings.Contains(strings.ToLower(r.body), "wrong state") {
		t.Fatalf("outcome before claim: %d\n%s", r.status, r.body)
	}
	if r := c.post("/ui/queue/acme/claim", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
		t.Fatalf("claim: %d", r.status)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		msg  string
	}{
		{"no kind", url.Values{"note": {"called"}}, "Choose an outcome."},
		{"unknown kind", url.Values{"kind": {"maybe"}}, "Outcome kind &#34;maybe&#34; is not one of"},
		{"callback without time", url.Values{"kind": {"callback"}, "note": {"keep <this>"}}, "Choose when to call back."},
		{"callback in the past", url.Values{"kind": {"callback"}, "callback_at": {"2026-11-16T09:00"}}, "must be in the future"},
		{"callback garbled", url.Values{"kind": {"callback"}, "callback_at": {"tomorrow"}}, "is not a date and time"},
		{"negative value", url.Values{"kind": {"converted"}, "value": {"-3"}}, "Value must be a non-negative number."},
		{"value not a number", url.Values{"kind": {"converted"}, "value": {"lots"}}, "The deal value &#34;lots&#34; is not a number."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf", csrf)
			r := c.post("/ui/queue/acme/outcome", tc.form)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", r.status)
			}
			if !strings.Contains(r.body, tc.msg) || !strings.Contains(r.body, `class="flash flash-error"`) {
				t.Errorf("page lacks the message %q:\n%s", tc.msg, r.body)
			}
			// The form comes back as typed.
			if k := tc.form.Get("kind"); k == "callback" && !strings.Contains(r.body, `value="callback" selected`) {
				t.Error("the chosen outcome was not kept")
			}
			if n := tc.form.Get("note"); n != "" && !strings.Contains(r.body, strings.ReplaceAll(strings.ReplaceAll(n, "<", "&lt;"), ">", "&gt;")) {
				t.Error("the note was not kept")
			}
			if e := f.entry(t, "acme"); e.State != repqueue.StateClaimed || e.Outcome != "" {
				t.Fatalf("a refused outcome changed the entry: %+v", e)
			}
		})
	}
}

func TestARepCannotActOnAnotherRepsEntry(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	f.rep(t, "rep1", nil)
	other := f.rep(t, "rep2", nil)
	f.hot(t, "acme", "Acme IT", "rep1", 1)
	c := f.client(t)
	c.signIn(other)
	body, csrf := c.queue()
	if strings.Contains(body, "Acme IT") {
		t.Fatal("rep2 sees rep1's entry")
	}
	for _, path := range []string{"/ui/queue/acme/claim", "/ui/queue/acme/outcome"} {
		r := c.post(path, url.Values{"csrf": {csrf}, "kind": {"not_now"}})
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "Not in your queue") {
			t.Errorf("POST %s: %d, want the 403 page", path, r.status)
		}
	}
	if e := f.entry(t, "acme"); e.State != repqueue.StateQueued || e.RepID != "rep1" {
		t.Fatalf("rep1's entry changed: %+v", e)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/ui/queue/nobody/claim", http.StatusNotFound},
		{"/ui/queue/bad:id/claim", http.StatusUnprocessableEntity},
	} {
		if r := c.post(tc.path, url.Values{"csrf": {csrf}}); r.status != tc.want {
			t.Errorf("POST %s: %d, want %d", tc.path, r.status, tc.want)
		}
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	c := f.client(t)
	c.signIn(tok)
	sid := c.cookie(sessionCookie).Value
	_, csrf := c.queue()
	// Sign-out is a CSRF-protected POST like the others.
	if r := c.post("/ui/logout", url.Values{}); r.status != http.StatusForbidden {
		t.Fatalf("logout without the token: %d, want 403", r.status)
	}
	r := c.post("/ui/logout", url.Values{"csrf": {csrf}})
	if r.status != http.StatusSeeOther || r.location() != "/ui/login?signed_out=1" {
		t.Fatalf("logout: %d to %q", r.status, r.location())
	}
	if ck := setCookie(r, sessionCookie); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("logout did not clear the cookie: %+v", ck)
	}
	if n := f.rdb.Exists(f.ctx, sessionKey(digest(sid))).Val(); n != 0 {
		t.Error("the session is still in Redis")
	}
	if r := c.get("/ui/login?signed_out=1"); !strings.Contains(r.body, "You have signed out.") {
		t.Error("no sign-out notice")
	}
	// The old cookie, replayed, opens nothing.
	replay := f.client(t)
	u, _ := url.Parse(f.srv.URL + "/ui/")
	replay.http.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: sid, Path: "/ui"}})
	if r := replay.get("/ui/queue"); r.status != http.StatusSeeOther || r.location() != "/ui/login?expired=1" {
		t.Fatalf("replayed cookie: %d to %q", r.status, r.location())
	}
}

func TestRevokingTheTokenEndsItsSessions(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	keep, err := f.tok.Issue(f.ctx, "rep1")
	if err != nil {
		t.Fatal(err)
	}
	c, d := f.client(t), f.client(t)
	c.signIn(tok)
	d.signIn(keep)
	if err := f.tok.Revoke(f.ctx, "rep1", tok); err != nil {
		t.Fatal(err)
	}
	if r := c.get("/ui/queue"); r.status != http.StatusSeeOther || r.location() != "/ui/login?expired=1" {
		t.Fatalf("session of a revoked token: %d to %q", r.status, r.location())
	}
	if n := countKeys(t, f, keyPrefix+"session:*"); n != 1 {
		t.Errorf("%d sessions left, want only the other token's", n)
	}
	d.queue()
}

func TestSessionEndsWhenTheRepLeavesTheDirectory(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	c := f.client(t)
	c.signIn(tok)
	// Reps are not deleted through the directory API; remove the record
	// (directory/keys.go: lt:rep:{id}) the way an operator would.
	if n := f.rdb.Del(f.ctx, "lt:rep:rep1").Val(); n != 1 {
		t.Fatalf("deleted %d rep records, want 1", n)
	}
	if _, err := f.dir.GetRep(f.ctx, "rep1"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("rep still readable after its record was deleted: %v", err)
	}
	if r := c.get("/ui/queue"); r.status != http.StatusSeeOther || r.location() != "/ui/login?expired=1" {
		t.Fatalf("session of a removed rep: %d to %q", r.status, r.location())
	}
}

func TestUntrustedTextIsEscaped(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	evil := `<script>alert("pwned")</script>`
	if _, _, err := f.dir.PutPartner(f.ctx, directory.Partner{ID: "evil", Name: evil, OwnerRepID: "rep1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.dir.PutContact(f.ctx, directory.Contact{ID: "c-evil", PartnerID: "evil", Email: "x@evil.example",
		FirstName: `"><img src=x onerror=alert(1)>`, Persona: "technical",
		Attrs: map[string]string{"phone": `javascript:alert(1)//+1 555`}}); err != nil {
		t.Fatal(err)
	}
	res, err := f.eng.Apply(f.ctx, scoring.Target{PartnerID: "evil", ContactID: "c-evil"}, []event.Event{
		{ID: "w1", Type: event.WebinarAttended, OccurredAt: monday10.Add(-time.Hour), Title: `</li><script>alert(2)</script>`, Source: "test"},
		{ID: "w2", Type: event.WebinarAttended, OccurredAt: monday10.Add(-2 * time.Hour), Title: "Plain", Source: "test"},
	})
	if err != nil || res.Crossing == nil {
		t.Fatalf("no crossing: %v", err)
	}
	if _, _, err := f.q.Handoff(f.ctx, "evil", res.Crossing.Seq, res.Crossing.CrossedAt); err != nil {
		t.Fatal(err)
	}
	c := f.client(t)
	c.signIn(tok)
	body, _ := c.queue()
	for _, bad := range []string{"<script>", "<img src=x", `href="javascript:`, "onerror=alert(1)>"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		`href="tel:11555"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks the escaped %q", want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	c := f.client(t)
	c.signIn(tok)
	for _, path := range []string{"/ui/login", "/ui/queue", "/ui/", "/ui/static/ui.css"} {
		r := c.get(path)
		h := r.header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") ||
			!strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	if r := c.get("/ui/"); r.status != http.StatusSeeOther || r.location() != "/ui/queue" {
		t.Errorf("GET /ui/: %d to %q", r.status, r.location())
	}
	body, _ := c.queue()
	if !strings.Contains(body, `name="viewport" content="width=device-width, initial-scale=1"`) || strings.Contains(body, "<script") ||
		strings.Contains(body, "style=") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("the page must be self-contained: viewport meta, no script, no inline style, no external URL")
	}
	css := c.get("/ui/static/ui.css")
	if css.status != http.StatusOK || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") || !strings.Contains(css.body, "@media") {
		t.Errorf("stylesheet: %d %q", css.status, css.header.Get("Content-Type"))
	}
	if q := c.get("/ui/queue"); q.header.Get("Cache-Control") != "no-store" {
		t.Error("the queue page may be cached")
	}
}

func TestSignInIsRateLimitedPerClient(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{LoginAttempts: 3, LoginWindow: 3 * time.Minute,
		ClientIP: func(r *http.Request) string { return r.Header.Get("X-Test-Client") }})
	tok := f.rep(t, "rep1", nil)
	try := func(client, token string) response {
		c := f.client(t)
		page := c.get("/ui/login")
		req, err := http.NewRequest(http.MethodPost, c.base+"/ui/login",
			strings.NewReader(url.Values{"csrf": {c.csrf(page.body)}, "token": {token}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.base)
		req.Header.Set("X-Test-Client", client)
		return c.do(req)
	}
	for i := range 3 {
		if r := try("a", "ltr_wrong"); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, r.status)
		}
	}
	r := try("a", tok)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "60" || !strings.Contains(r.body, "Try again in 1 minute") {
		t.Fatalf("4th attempt: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if r := try("b", tok); r.status != http.StatusSeeOther {
		t.Fatalf("another client is limited too: %d", r.status)
	}
	f.clock.Advance(time.Minute)
	if r := try("a", tok); r.status != http.StatusSeeOther {
		t.Fatalf("after a minute: %d", r.status)
	}
}

// The probe's lock-out: every rep behind one address (a proxy) shared one
// budget that successes used up too. Now only failures count, per address
// and per token prefix, and no address's lock-out reaches another.
func TestSignInLimitCountsFailuresOnly(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{LoginAttempts: 3, LoginWindow: 3 * time.Minute,
		ClientIP: func(r *http.Request) string { return r.Header.Get("X-Test-Client") }})
	tokens := []string{f.rep(t, "rep1", nil), f.rep(t, "rep2", nil), f.rep(t, "rep3", nil)}
	try := func(client, token string) int {
		c := f.client(t)
		page := c.get("/ui/login")
		req, err := http.NewRequest(http.MethodPost, c.base+"/ui/login",
			strings.NewReader(url.Values{"csrf": {c.csrf(page.body)}, "token": {token}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.base)
		req.Header.Set("X-Test-Client", client)
		return c.do(req).status
	}
	steps := []struct {
		name, client, token string
		want                int
	}{
		// Many reps signing in from one address, far beyond the burst.
		{"rep1", "office", tokens[0], http.StatusSeeOther},
		{"rep2", "office", tokens[1], http.StatusSeeOther},
		{"rep3", "office", tokens[2], http.StatusSeeOther},
		{"rep1 again", "office", tokens[0], http.StatusSeeOther},
		{"rep2 again", "office", tokens[1], http.StatusSeeOther},
		{"rep3 again", "office", tokens[2], http.StatusSeeOther},
		// An attacker's address runs out of failures...
		{"guess 1", "attacker", "ltr_guess-1", http.StatusUnauthorized},
		{"guess 2", "attacker", "ltr_guess-2", http.StatusUnauthorized},
		{"guess 3", "attacker", "ltr_guess-3", http.StatusUnauthorized},
		{"guess 4", "attacker", "ltr_guess-4", http.StatusTooManyRequests},
		// ...which locks nobody else out.
		{"rep1 after the attack", "office", tokens[0], http.StatusSeeOther},
		{"a mistyped token elsewhere", "home", "ltr_typo", http.StatusUnauthorized},
		// Failures at one token prefix from many addresses are limited too.
		{"prefix from a1", "a1", tokens[2][:12] + "-guess-1", http.StatusUnauthorized},
		{"prefix from a2", "a2", tokens[2][:12] + "-guess-2", http.StatusUnauthorized},
		{"prefix from a3", "a3", tokens[2][:12] + "-guess-3", http.StatusUnauthorized},
		{"prefix from a4", "a4", tokens[2][:12] + "-guess-4", http.StatusTooManyRequests},
		{"another prefix from a4", "a4", "ltr_other-guess", http.StatusUnauthorized},
	}
	for _, s := range steps {
		if got := try(s.client, s.token); got != s.want {
			t.Fatalf("%s: %d, want %d", s.name, got, s.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	clk := testclock.New(monday10)
	l := newLimiter(2, 10*time.Second, clk.Now)
	steps := []struct {
		advance time.Duration
		want    bool
	}{{0, true}, {0, true}, {0, false}, {4 * time.Second, false}, {time.Second, true}, {0, false}, {time.Hour, true}, {0, true}, {0, false}}
	for i, s := range steps {
		clk.Advance(s.advance)
		if ok, _ := l.take("k"); ok != s.want {
			t.Fatalf("step %d: take %v, want %v", i, ok, s.want)
		}
	}
	if ok, wait := l.take("k"); ok || wait != 5*time.Second {
		t.Fatalf("wait %s, want 5s", wait)
	}
	// Several keys: all or nothing, and the longest wait.
	if ok, _ := l.take("x", "y"); !ok {
		t.Fatal("take(x, y) on fresh keys refused")
	}
	if ok, wait := l.take("x", "k"); ok || wait != 5*time.Second {
		t.Fatalf("take(x, k) = %v, %s; want refused for k's 5s", ok, wait)
	}
	if ok, _ := l.take("x"); !ok {
		t.Fatal("a refused take(x, k) used up x's attempt")
	}
	// A refund gives the attempt back, never beyond the burst.
	l.refund("x", "y", "y", "y")
	if ok, _ := l.take("x"); !ok {
		t.Fatal("x has no attempt after a refund")
	}
	if l.buckets["y"].tokens != 2 {
		t.Fatalf("y holds %v attempts, want the burst of 2", l.buckets["y"].tokens)
	}
	for i := range maxTracked + 5 {
		l.take(fmt.Sprint("10.0.0.", i))
	}
	if n := len(l.buckets); n > maxTracked {
		t.Fatalf("limiter tracks %d clients, more than %d", n, maxTracked)
	}
}

func TestLimiterKeys(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"203.0.113.9":                      "addr:203.0.113.9",
		"::ffff:203.0.113.9":               "addr:203.0.113.9",
		"2001:db8:1:2:aaaa:bbbb:cccc:dddd": "addr:2001:db8:1:2::/64",
		"2001:db8:1:2::1":                  "addr:2001:db8:1:2::/64",
		"@unix":                            "addr:@unix",
	} {
		if got := addrKey(in); got != want {
			t.Errorf("addrKey(%q) = %q, want %q", in, got, want)
		}
	}
	if got := tokenKey("ltr_abcdefgh-rest-of-the-secret"); got != "token:ltr_abcdefgh" {
		t.Errorf("tokenKey = %q", got)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{SessionTTL: time.Second}, "SessionTTL"},
		{Config{SessionTTL: 31 * 24 * time.Hour}, "SessionTTL"},
		{Config{LoginAttempts: -1}, "LoginAttempts"},
		{Config{LoginWindow: -time.Second}, "LoginWindow"},
	} {
		if _, err := New(tc.cfg, f.q, f.outcomes, f.tok, f.dir, f.rdb, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
	if _, err := New(Config{}, nil, f.outcomes, f.tok, f.dir, f.rdb, zerolog.Nop()); err == nil {
		t.Error("New with a nil queue succeeded")
	}
	h, err := New(Config{SecureCookies: true, SessionTTL: time.Hour}, f.q, f.outcomes, f.tok, f.dir, f.rdb, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	tok := f.rep(t, "rep1", nil)
	rec := func(req *http.Request) response {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		return response{status: w.Code, header: w.Header(), body: w.Body.String()}
	}
	page := rec(mustReq(t, http.MethodGet, "http://ui.example/ui/login", nil))
	login := setCookie(page, loginCookie)
	if login == nil || !login.Secure || login.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login cookie %+v, want Secure and SameSite=Strict", login)
	}
	req := mustReq(t, http.MethodPost, "http://ui.example/ui/login", url.Values{"csrf": {login.Value}, "token": {tok}})
	req.Header.Set("Origin", "https://ui.example")
	req.AddCookie(login)
	r := rec(req)
	ck := setCookie(r, sessionCookie)
	if r.status != http.StatusSeeOther || ck == nil || !ck.Secure || ck.MaxAge != 3600 {
		t.Fatalf("secure sign-in: %d, cookie %+v", r.status, ck)
	}
}

func mustReq(t *testing.T, method, target string, form url.Values) *http.Request {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req
}

func countKeys(t *testing.T, f *fixture, pattern string) int {
	t.Helper()
	keys, err := f.rdb.Keys(f.ctx, pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

// assertNoSecretInRedis fails when any key or string/hash value under the
// pages' prefix holds one of the secrets.
func assertNoSecretInRedis(t *testing.T, f *fixture, secrets ...string) {
	t.Helper()
	keys, err := f.rdb.Keys(f.ctx, keyPrefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("no keys under " + keyPrefix)
	}
	for _, k := range keys {
		var vals []string
		switch f.rdb.Type(f.ctx, k).Val() {
		case "hash":
			for f, v := range f.rdb.HGetAll(f.ctx, k).Val() {
				vals = append(vals, f, v)
			}
		case "string":
			vals = append(vals, f.rdb.Get(f.ctx, k).Val())
		}
		for _, s := range secrets {
			if strings.Contains(k, s) || strings.Contains(strings.Join(vals, " "), s) {
				t.Errorf("key %s holds a secret", k)
			}
		}
	}
}

// TestOutcomeFollowUpFailureOffersToSubmitAgain: when the outcome is saved
// but its follow-ups cannot be queued (the task queue is away), the page
// says so with a 503 instead of swallowing it, and offers the same outcome
// again; submitting it once the queue is back completes the follow-ups,
// once each.
func TestOutcomeFollowUpFailureOffersToSubmitAgain(t *testing.T) {
	t.Parallel()
	tasksSrv := redistest.StartServer(t)
	tasks := redis.NewClient(tasksSrv.Options())
	t.Cleanup(func() { _ = tasks.Close() })
	f := setupOn(t, Config{}, redistest.New(t), tasks)
	tok := f.rep(t, "rep1", map[string]string{"timezone": "Europe/Paris"})
	f.hot(t, "acme", "Acme IT", "rep1", 1)
	c := f.client(t)
	c.signIn(tok)
	_, csrf := c.queue()
	if r := c.post("/ui/queue/acme/claim", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
		t.Fatalf("claim: %d", r.status)
	}

	tasksSrv.Stop()
	r := c.post("/ui/queue/acme/outcome", url.Values{"csrf": {csrf}, "kind": {"converted"}, "value": {"12,500.50"}, "note": {`Signed "gold" tier`}})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Outcome saved, not finished") || !strings.Contains(r.body, `id="retry"`) {
		t.Fatalf("outcome with the task queue away: %d\n%s", r.status, r.body)
	}
	if e := f.entry(t, "acme"); e.State != repqueue.StateClosed || e.Outcome != repqueue.OutcomeConverted {
		t.Fatalf("entry %+v, want the outcome saved", e)
	}
	retry := url.Values{}
	form := r.body[strings.Index(r.body, `id="retry"`):]
	for _, m := range regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`).FindAllStringSubmatch(form[:strings.Index(form, "</form>")], -1) {
		retry.Set(m[1], html.UnescapeString(m[2]))
	}
	if retry.Get("csrf") != csrf || retry.Get("kind") != "converted" || retry.Get("value") != "12,500.50" || retry.Get("note") != `Signed "gold" tier` {
		t.Fatalf("the retry form carries %v, want the outcome as submitted", retry)
	}

	if err := tasksSrv.Start(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the rep's retry, and a double click
		if r := c.post("/ui/queue/acme/outcome", retry); r.status != http.StatusSeeOther {
			t.Fatalf("retry %d: %d\n%s", i, r.status, r.body)
		}
	}
	if page, _ := c.queue(); !strings.Contains(page, "Deal recorded for Acme IT (value 12500.5)") {
		t.Error("no confirmation after the retry")
	}
	if seen := f.seen(t); len(seen) != 1 || seen[0].Deal == nil || seen[0].Deal.Value != 12500.5 || seen[0].Outcome.Outcome != repqueue.OutcomeConverted {
		t.Errorf("passed on %+v, want the converted outcome and its deal once", seen)
	}
}
