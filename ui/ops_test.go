package ui

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/longtailhq/longtail/activity"
	"github.com/longtailhq/longtail/directory"
)

// Every language has every label: a missing one would print nothing.
func TestOpsLabelsComplete(t *testing.T) {
	t.Parallel()
	keys := func(m map[string]string) []string {
		var out []string
		for k, v := range m {
			if v == "" {
				t.Errorf("label %s is empty", k)
			}
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	for name, set := range map[string]map[string]map[string]string{"ops": opsLabels, "program": programLabels} {
		en, fr := keys(set["en"]), keys(set["fr"])
		if !slices.Equal(en, fr) {
			t.Errorf("%s: English and French labels differ:\nen %v\nfr %v", name, en, fr)
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	t.Parallel()
	have := func(l string) bool { return l == "en" || l == "fr" }
	for _, tc := range []struct{ header, want string }{
		{"", "en"},
		{"fr-FR,fr;q=0.9,en;q=0.8", "fr"},
		{"de-DE, fr;q=0.5, en;q=0.7", "en"},
		{"de", "en"},
		{"fr;q=0", "en"},
		{"FR-ca", "fr"},
	} {
		if got := acceptLanguage(tc.header, have); got != tc.want {
			t.Errorf("acceptLanguage(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}

// TestOpsPagesAccess: every ops page is an admin's. A visitor goes to
// sign in, a rep is refused, an admin sees the page in the language the
// browser asks for, or the one chosen with ?lang=.
func TestOpsPagesAccess(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{AdminKeys: []string{adminKey}})
	tok := f.rep(t, "rep1", nil)
	f.hot(t, "acme", "Acme IT", "rep1", 2)
	act, err := activity.New(f.rdb, activity.Config{Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := NewOpsPages(f.h, OpsDeps{Scores: f.eng, Queue: f.q, Directory: f.dir, Activity: act}, OpsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ops.Register(f.mux)
	if _, err := NewOpsPages(f.h, OpsDeps{Scores: f.eng, Queue: f.q, Directory: f.dir, Activity: act}, OpsConfig{Workdays: 8}); err == nil {
		t.Error("Workdays 8 accepted")
	}
	if _, err := NewOpsPages(f.h, OpsDeps{Scores: f.eng, Directory: f.dir, Activity: act}, OpsConfig{}); err == nil {
		t.Error("no queue accepted")
	}
	pages := []string{"/ui/ops", "/ui/ops/funnels", "/ui/ops/scores", "/ui/ops/rfm", "/ui/ops/topics",
		"/ui/ops/leaderboard", "/ui/ops/unrouted", "/ui/ops/partners/acme"}

	anon := f.client(t)
	rep := f.client(t)
	rep.signIn(tok)
	admin := f.client(t)
	if r := admin.login(adminKey); r.status != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d", r.status)
	}
	for _, p := range pages {
		if r := anon.get(p); r.status != http.StatusSeeOther || r.location() != "/ui/login" {
			t.Errorf("signed out, %s: %d to %q, want the sign-in page", p, r.status, r.location())
		}
		if r := rep.get(p); r.status != http.StatusForbidden || strings.Contains(r.body, "<svg") {
			t.Errorf("a rep on %s: %d, want 403 without a chart", p, r.status)
		}
		r := admin.get(p)
		chart := strings.Contains(r.body, `role="img"`)
		if p == "/ui/ops/funnels" { // no nurture here: no funnel to draw
			chart = strings.Contains(r.body, `id="nurture-off"`)
		}
		if r.status != http.StatusOK || !chart || !strings.Contains(r.body, `<html lang="en">`) {
			t.Errorf("an admin on %s: %d, want the page with its chart, in English", p, r.status)
		}
	}
	if r := admin.get("/ui/ops/partners/nobody"); r.status != http.StatusNotFound {
		t.Errorf("an unknown partner: %d, want 404", r.status)
	}
	if r := admin.get("/ui/ops/partner?id=acme"); r.status != http.StatusSeeOther || r.location() != "/ui/ops/partners/acme" {
		t.Errorf("partner search: %d to %q", r.status, r.location())
	}
	if r := admin.get("/ui/ops/program"); r.status != http.StatusNotFound {
		t.Errorf("the program page without program pages: %d, want 404", r.status)
	}

	// The browser's language, then a choice that sticks.
	req, _ := http.NewRequest("GET", f.srv.URL+"/ui/ops/scores", nil)
	req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9")
	if r := admin.do(req); !strings.Contains(r.body, `<html lang="fr">`) || !strings.Contains(r.body, "Distribution des scores") {
		t.Errorf("Accept-Language fr: the page is not in French")
	}
	if r := admin.get("/ui/ops/scores?lang=fr"); !strings.Contains(r.body, `hreflang="en"`) {
		t.Errorf("?lang=fr: no switch back to English")
	}
	if r := admin.get("/ui/ops/rfm"); !strings.Contains(r.body, "Carte RFM") {
		t.Errorf("the French choice did not stick")
	}
	// The unknown partner's page is in French too.
	if _, _, err := f.dir.PutPartner(f.ctx, directory.Partner{ID: "quiet", Name: "Quiet Co"}); err != nil {
		t.Fatal(err)
	}
	if r := admin.get("/ui/ops/partners/quiet"); r.status != http.StatusOK || !strings.Contains(r.body, "Quiet Co") || !strings.Contains(r.body, "Aucun.") {
		t.Errorf("a partner without engagement: %d", r.status)
	}
}
