package ui

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var codeField = regexp.MustCompile(`name="code" value="([^"]+)"`)

func TestSignInLink(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	f.hot(t, "acme", "Acme IT", "rep1", 1)
	code, err := f.tok.IssueLink(f.ctx, tok, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := f.client(t)

	// Opening the link asks to confirm, and uses nothing up: a scanner
	// fetching it twice signs nobody in.
	var page response
	for range 2 {
		page = c.get("/ui/login/link?code=" + url.QueryEscape(code))
		if page.status != http.StatusOK || !strings.Contains(page.body, "Sign in as Rep REP1") {
			t.Fatalf("link page: %d\n%s", page.status, page.body)
		}
		if cc := page.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("link page Cache-Control %q, want no-store", cc)
		}
	}
	if n := countKeys(t, f, keyPrefix+"session:*"); n != 0 {
		t.Fatalf("%d sessions after only opening the link", n)
	}
	form := url.Values{"csrf": {c.csrf(page.body)}, "code": {codeField.FindStringSubmatch(page.body)[1]}}

	// A cross-site confirmation is refused and keeps the link.
	evil := f.client(t)
	evil.origin = "https://evil.example"
	if r := evil.post("/ui/login/link", form); r.status != http.StatusForbidden {
		t.Fatalf("cross-site confirmation: %d", r.status)
	}
	// Without the form's cookie, refused too, link kept.
	if r := f.client(t).post("/ui/login/link", form); r.status != http.StatusForbidden {
		t.Fatalf("confirmation without the form cookie: %d", r.status)
	}

	r := c.post("/ui/login/link", form)
	if r.status != http.StatusSeeOther || r.location() != "/ui/queue" {
		t.Fatalf("confirm: %d to %q\n%s", r.status, r.location(), r.body)
	}
	// The session stands on the token the link was made from.
	ck := setCookie(r, sessionCookie)
	if ck == nil {
		t.Fatal("no session cookie")
	}
	if h := f.rdb.HGetAll(f.ctx, sessionKey(digest(ck.Value))).Val(); h["rep"] != "rep1" || h["tok"] != digest(tok) {
		t.Errorf("session %v, want rep1 on the token's digest", h)
	}
	if body, _ := c.queue(); !strings.Contains(body, "Acme IT") {
		t.Error("the queue page after a link sign-in lacks the rep's partner")
	}
	assertNoSecretInRedis(t, f, tok, code, ck.Value)

	// Once only: the link is dead for everyone now.
	for _, cl := range []*client{c, f.client(t)} {
		if p := cl.get("/ui/login/link?code=" + url.QueryEscape(code)); p.status != http.StatusNotFound || !strings.Contains(p.body, "already used") {
			t.Errorf("used link page: %d\n%s", p.status, p.body)
		}
	}
	other := f.client(t)
	lp := other.get("/ui/login")
	if r := other.post("/ui/login/link", url.Values{"csrf": {other.csrf(lp.body)}, "code": form["code"]}); r.status != http.StatusNotFound {
		t.Errorf("second confirmation: %d, want 404", r.status)
	}
	if n := countKeys(t, f, keyPrefix+"session:*"); n != 1 {
		t.Errorf("%d sessions, want the one", n)
	}

	// Revoking the token kills the sessions it opened, as for a typed token.
	if err := f.tok.Revoke(f.ctx, "rep1", tok); err != nil {
		t.Fatal(err)
	}
	if r := c.get("/ui/queue"); r.status != http.StatusSeeOther || r.location() != "/ui/login?expired=1" {
		t.Errorf("after revoking the token: %d to %q", r.status, r.location())
	}
}

func TestSignInLinkRefusals(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{})
	tok := f.rep(t, "rep1", nil)
	revoked, err := f.tok.IssueLink(f.ctx, tok, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.tok.Revoke(f.ctx, "rep1", tok); err != nil {
		t.Fatal(err)
	}
	c := f.client(t)
	for _, code := range []string{"", "ltl_nope", "ltr_a-token-not-a-link", revoked} {
		p := c.get("/ui/login/link?code=" + url.QueryEscape(code))
		if p.status != http.StatusNotFound || !strings.Contains(p.body, badLink[:30]) || strings.Contains(p.body, `name="code"`) {
			t.Errorf("link %q: %d\n%s", code, p.status, p.body)
		}
		lp := c.get("/ui/login")
		if r := c.post("/ui/login/link", url.Values{"csrf": {c.csrf(lp.body)}, "code": {code}}); r.status != http.StatusNotFound {
			t.Errorf("confirming %q: %d", code, r.status)
		}
	}
	if n := countKeys(t, f, keyPrefix+"session:*"); n != 0 {
		t.Errorf("%d sessions from dead links", n)
	}
}
