package ui

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/activity"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/program"
	programstore "github.com/longtailhq/longtail/program/store"
	"github.com/longtailhq/longtail/repqueue"
)

// pageText is what a reader meets on a page: its text and the titles
// and labels of its elements (a tooltip, an SVG title, a screen
// reader's label), unescaped.
func pageText(body string) string {
	var b strings.Builder
	for _, m := range regexp.MustCompile(`(?:title|aria-label|placeholder)="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		b.WriteString(html.UnescapeString(m[1]) + "\n")
	}
	body = regexp.MustCompile(`(?s)<(style|script)\b.*?</(style|script)>`).ReplaceAllString(body, " ")
	b.WriteString(html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " ")))
	// Runs of ordinary white space as one space; a no-break space stays.
	return regexp.MustCompile(`[ \t\r\n]+`).ReplaceAllString(b.String(), " ")
}

// englishWords are the English labels a French page must not show: the
// English of every label (layout, ops, program) whose French differs,
// cut at its format verbs, and the stored values the ops pages put in
// French words. A word French labels use too ("productive") and the
// language switch's "English" are no sign of English.
func englishWords() []string {
	var out, french []string
	verb := regexp.MustCompile(`%[a-z]`)
	sets := []map[string]map[string]string{layoutLabels, opsLabels, programLabels}
	for _, set := range sets {
		for _, fr := range set["fr"] {
			french = append(french, fr)
		}
	}
	for _, terms := range opsTerms {
		for _, fr := range terms {
			french = append(french, fr)
		}
	}
	frenchText := strings.Join(french, "\n")
	isFrench := func(w string) bool { return shows(frenchText, w) }
	for _, set := range sets {
		for k, en := range set["en"] {
			if en == set["fr"][k] || k == "language_name" {
				continue
			}
			for _, part := range verb.Split(en, -1) {
				if part = strings.Trim(part, " ;:,.()×"); len([]rune(part)) >= 3 && !isFrench(part) {
					out = append(out, part)
				}
			}
		}
	}
	for _, terms := range opsTerms {
		for en, fr := range terms {
			if en != fr && !isFrench(en) {
				out = append(out, en)
			}
		}
	}
	return out
}

// shows reports whether text has word as a whole word (or phrase).
func shows(text, word string) bool {
	return regexp.MustCompile(`(^|[^\pL_])` + regexp.QuoteMeta(word) + `($|[^\pL_])`).MatchString(text)
}

// TestOpsPagesInFrench: every ops page chosen in French is French from
// the top bar down: no English label, the top bar's links and button in
// French, figures written the French way (12 000, 5,0 %, with narrow
// no-break spaces) and dates as 16/11/2026.
func TestOpsPagesInFrench(t *testing.T) {
	t.Parallel()
	f := setup(t, Config{AdminKeys: []string{adminKey}})
	f.rep(t, "rep1", nil)
	// A rep who takes 245 a day: with rep1's 10, a week's capacity of
	// 1 275 (1,275 in English).
	if _, _, err := f.dir.PutRep(f.ctx, directory.Rep{ID: "rep2", Name: "Rep Two", Email: "rep2@vendor.example",
		DailyCapacity: 245, Active: true}); err != nil {
		t.Fatal(err)
	}
	f.hot(t, "acme", "Acme IT", "rep1", 2)
	if _, err := f.q.Claim(f.ctx, "rep1", "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.outcomes.Record(f.ctx, "rep1", "acme", repqueue.Outcome{Kind: repqueue.OutcomeNotNow}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.dir.PutPartner(f.ctx, directory.Partner{ID: "acme", Name: "Acme IT", OwnerRepID: "rep1",
		Timezone: "Europe/Paris", JoinedAt: "2025-01-15"}); err != nil {
		t.Fatal(err)
	}
	ps, err := programstore.New(f.rdb, programstore.Deps{Directory: f.dir, Scores: f.eng, Outcomes: f.q, Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.Record(f.ctx, []programstore.Result{{PartnerID: "acme", EventID: "d1", Type: event.DealRegistered,
		At: time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC), Value: 12500}}, nil); err != nil {
		t.Fatal(err)
	}
	prog, err := NewProgramPages(f.h, ps, f.dir, program.Config{})
	if err != nil {
		t.Fatal(err)
	}
	act, err := activity.New(f.rdb, activity.Config{Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := NewOpsPages(f.h, OpsDeps{Scores: f.eng, Queue: f.q, Directory: f.dir, Activity: act, Program: prog}, OpsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ops.Register(f.mux)
	admin := f.client(t)
	if r := admin.login(adminKey); r.status != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d", r.status)
	}
	english := englishWords()
	const n = "\u202f"
	for _, tc := range []struct {
		path string
		// want are French figures, dates and words the page must show.
		want []string
	}{
		{"/ui/ops?lang=fr", []string{"1 / 1" + n + "275", "Pilotage"}},
		{"/ui/ops/funnels", []string{"L’envoi des parcours est désactivé"}},
		{"/ui/ops/scores", []string{"1 partenaires ; 0 à 0"}},
		{"/ui/ops/rfm", []string{"Carte RFM"}},
		{"/ui/ops/topics", []string{"Points d’intérêt par jour", "16/11"}},
		{"/ui/ops/leaderboard", []string{"Acme IT"}},
		{"/ui/ops/unrouted", []string{"Aucun."}},
		{"/ui/ops/partners/acme", []string{"16/11/2026", "pas maintenant", "prise", "clôturée", "résultat"}},
		{"/ui/ops/program", []string{"16 novembre 2026", "taux d’attrition 0,0" + n + "%", "25" + n + "%"}},
		{"/ui/ops/partners/nobody", []string{"Introuvable", "Aucun partenaire \"nobody\".", "Retour à votre file"}},
		{"/ui/ops/program/nothing.csv", []string{"Cet export n’existe pas."}},
	} {
		r := admin.get(tc.path)
		if !strings.Contains(r.body, `<html lang="fr">`) {
			t.Errorf("%s: %d, not in French", tc.path, r.status)
			continue
		}
		text := pageText(r.body)
		// The top bar.
		for _, want := range []string{`id="nav-ops">Pilotage</a>`, `id="nav-outbox">Boîte d’envoi</a>`, `id="logout">Se déconnecter</button>`, `>Administrateur</span>`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("%s: the top bar has no %s", tc.path, want)
			}
		}
		for _, want := range tc.want {
			if !strings.Contains(text, want) {
				t.Errorf("%s does not show %q", tc.path, want)
			}
		}
		for _, en := range english {
			if shows(text, en) {
				t.Errorf("%s shows the English %q", tc.path, en)
			}
		}
		for _, bad := range []string{`\d\.\d`, `\d%`, `\d \d{3}\b`, `\d,\d{3}\b`, `\d{4}-\d{2}-\d{2}`} {
			if m := regexp.MustCompile(bad).FindString(text); m != "" {
				t.Errorf("%s writes a figure or a date the English way: %q", tc.path, m)
			}
		}
	}
	// The same pages in English keep English figures and top bar.
	r := admin.get("/ui/ops?lang=en")
	text := pageText(r.body)
	for _, want := range []string{"1 / 1,275", `id="nav-ops">Ops</a>`, `id="logout">Sign out</button>`} {
		if !strings.Contains(text, want) && !strings.Contains(r.body, want) {
			t.Errorf("the English overview has no %q", want)
		}
	}
}

// The check itself: it finds an English label in French text, and no
// French word passes for English.
func TestEnglishWordsCheck(t *testing.T) {
	t.Parallel()
	words := englishWords()
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"Hand-offs this week", true},
		{"Sign out", true},
		{"état : not_now", true},
		{"Transmissions cette semaine · Se déconnecter · pas maintenant", false},
		{"Entonnoirs des parcours", false},
	} {
		found := ""
		for _, w := range words {
			if shows(tc.text, w) {
				found = w
				break
			}
		}
		if (found != "") != tc.want {
			t.Errorf("%q: found English %q, want found %v", tc.text, found, tc.want)
		}
	}
}
