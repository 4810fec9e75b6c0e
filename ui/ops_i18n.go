package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/longtailhq/longtail/opsview"
	"github.com/longtailhq/longtail/program"
)

// opsLabels are the ops pages' words, by language. Every language has
// every key (TestOpsLabelsComplete): a missing one would print nothing.
var opsLabels = map[string]map[string]string{
	"en": {
		"language_name":           "English",
		"ops":                     "Ops",
		"overview":                "Overview",
		"funnels":                 "Flow funnels",
		"scores":                  "Score distribution",
		"rfm":                     "RFM map",
		"topics":                  "Topic interests",
		"leaderboard":             "Leaderboard",
		"partner":                 "Partner",
		"unrouted":                "Unrouted hand-offs",
		"program":                 "Partner program",
		"show_table":              "Show the figures as a table",
		"events_per_minute":       "Events per minute",
		"events_per_minute_note":  "mean of the last 60 minutes; peak %s",
		"events_per_minute_chart": "Events scored per minute, last hour",
		"minute_utc":              "Minute (UTC)",
		"events":                  "Events",
		"handoffs_week":           "Hand-offs this week",
		"handoffs_week_note":      "against a capacity of %s (%s active reps × %s working days); %s unrouted",
		"load":                    "of capacity",
		"emails":                  "Emails, last 14 days",
		"emails_note":             "%s sent, %s deferred, %s failed",
		"suppression_rate":        "Suppression rate",
		"suppression_note":        "bounces, spam complaints and unsubscribes (%s) per email sent, last 14 days",
		"sent_short":              "sent",
		"deferred_short":          "deferred",
		"handoffs_per_day":        "Hand-offs created per day, last 14 days",
		"emails_sent_per_day":     "Emails sent per day, last 14 days",
		"day":                     "Day",
		"handoffs":                "Hand-offs",
		"sent":                    "Sent",
		"funnel_of":               "Contacts entering each step of %s",
		"nurture_off":             "Nurture sending is off (smtp.url, smtp.from or tracking.secret is missing): no flow runs, so there is no funnel.",
		"no_flows":                "No flow is loaded.",
		"step":                    "Step",
		"kind":                    "Kind",
		"entered":                 "Entered",
		"reach":                   "Reach",
		"opened":                  "Opened",
		"clicked":                 "Clicked",
		"open_rate":               "Open rate",
		"click_rate":              "Click rate",
		"exited":                  "Exited",
		"score_histogram":         "Partners by engagement score",
		"score":                   "Score",
		"partners":                "Partners",
		"scores_note":             "%s partners; %s of them at 0 (never engaged, or decayed to nothing).",
		"rfm_title":               "Where is my long tail: partners by recency and frequency rank",
		"rfm_note":                "Each cell holds the partners with that recency rank (column, 5 = most recent) and frequency rank (row, 5 = most frequent). The square's area is the number of partners; its colour the mean monetary rank, pale (1) to deep (5). %s partners ranked, %s not ranked yet.",
		"recency":                 "Recency rank",
		"frequency":               "Frequency rank",
		"monetary":                "Mean monetary rank",
		"mean_monetary":           "Mean monetary",
		"topics_chart":            "Interest points per day of the top topics, last 28 days",
		"topic":                   "Topic",
		"total":                   "Total",
		"no_topics":               "No interest points recorded in the last 28 days.",
		"leaderboard_chart":       "Top 20 partners by engagement score",
		"rank":                    "Rank",
		"find_partner":            "Open a partner by id",
		"open":                    "Open",
		"profile":                 "Profile",
		"type":                    "Type",
		"tier":                    "Tier",
		"region":                  "Region",
		"country":                 "Country",
		"owner":                   "Owner rep",
		"joined":                  "Joined",
		"segment":                 "RFM segment",
		"hottest":                 "Hottest contact",
		"crossed":                 "Threshold crossed",
		"interests":               "Interests",
		"explanation":             "Score explanation",
		"points_by_type":          "Points now by event type",
		"event_type":              "Event type",
		"points_now":              "Points now",
		"contact":                 "Contact",
		"count":                   "Count",
		"points":                  "Points",
		"timeline":                "Timeline",
		"at":                      "When (UTC)",
		"enrollments":             "Enrollments",
		"flow":                    "Flow",
		"status":                  "Status",
		"handoff_history":         "Hand-off history",
		"rep":                     "Rep",
		"state":                   "State",
		"outcome":                 "Outcome",
		"note":                    "Note",
		"none":                    "None.",
		"more_contacts":           "The 50 most engaged contacts; %s more are left out here.",
		"unrouted_per_day":        "Hand-offs no rep could take, per day, last 14 days",
		"unrouted_note":           "Hand-offs no rep could take when they were created (no owner, territory or round-robin rep with capacity). The SLA sweep routes them when a rep frees up.",
		"queued_at":               "Queued",
		"reasons":                 "Reasons",
		"not_found":               "Not found",
		"no_partner":              "There is no partner %q.",
	},
	"fr": {
		"language_name":           "Français",
		"ops":                     "Pilotage",
		"overview":                "Vue d’ensemble",
		"funnels":                 "Entonnoirs des parcours",
		"scores":                  "Distribution des scores",
		"rfm":                     "Carte RFM",
		"topics":                  "Centres d’intérêt",
		"leaderboard":             "Classement",
		"partner":                 "Partenaire",
		"unrouted":                "Transmissions non attribuées",
		"program":                 "Programme partenaires",
		"show_table":              "Afficher les chiffres en tableau",
		"events_per_minute":       "Événements par minute",
		"events_per_minute_note":  "moyenne des 60 dernières minutes ; pic %s",
		"events_per_minute_chart": "Événements comptés par minute, dernière heure",
		"minute_utc":              "Minute (UTC)",
		"events":                  "Événements",
		"handoffs_week":           "Transmissions cette semaine",
		"handoffs_week_note":      "pour une capacité de %s (%s commerciaux actifs × %s jours ouvrés) ; %s non attribuées",
		"load":                    "de la capacité",
		"emails":                  "E-mails, 14 derniers jours",
		"emails_note":             "%s envoyés, %s différés, %s en échec",
		"suppression_rate":        "Taux de suppression",
		"suppression_note":        "rebonds, plaintes pour spam et désinscriptions (%s) par e-mail envoyé, 14 derniers jours",
		"sent_short":              "envoyés",
		"deferred_short":          "différés",
		"handoffs_per_day":        "Transmissions créées par jour, 14 derniers jours",
		"emails_sent_per_day":     "E-mails envoyés par jour, 14 derniers jours",
		"day":                     "Jour",
		"handoffs":                "Transmissions",
		"sent":                    "Envoyés",
		"funnel_of":               "Contacts entrant dans chaque étape de %s",
		"nurture_off":             "L’envoi des parcours est désactivé (smtp.url, smtp.from ou tracking.secret manque) : aucun parcours ne tourne, donc pas d’entonnoir.",
		"no_flows":                "Aucun parcours chargé.",
		"step":                    "Étape",
		"kind":                    "Type",
		"entered":                 "Entrés",
		"reach":                   "Portée",
		"opened":                  "Ouverts",
		"clicked":                 "Cliqués",
		"open_rate":               "Taux d’ouverture",
		"click_rate":              "Taux de clic",
		"exited":                  "Sortis",
		"score_histogram":         "Partenaires par score d’engagement",
		"score":                   "Score",
		"partners":                "Partenaires",
		"scores_note":             "%s partenaires ; %s à 0 (jamais engagés, ou score éteint).",
		"rfm_title":               "Où est ma longue traîne : partenaires par rang de récence et de fréquence",
		"rfm_note":                "Chaque case réunit les partenaires de ce rang de récence (colonne, 5 = le plus récent) et de fréquence (ligne, 5 = le plus fréquent). L’aire du carré est le nombre de partenaires ; sa couleur le rang monétaire moyen, clair (1) à foncé (5). %s partenaires classés, %s pas encore classés.",
		"recency":                 "Rang de récence",
		"frequency":               "Rang de fréquence",
		"monetary":                "Rang monétaire moyen",
		"mean_monetary":           "Montant moyen",
		"topics_chart":            "Points d’intérêt par jour des principaux sujets, 28 derniers jours",
		"topic":                   "Sujet",
		"total":                   "Total",
		"no_topics":               "Aucun point d’intérêt sur les 28 derniers jours.",
		"leaderboard_chart":       "Les 20 partenaires au score d’engagement le plus élevé",
		"rank":                    "Rang",
		"find_partner":            "Ouvrir un partenaire par identifiant",
		"open":                    "Ouvrir",
		"profile":                 "Profil",
		"type":                    "Type",
		"tier":                    "Niveau",
		"region":                  "Région",
		"country":                 "Pays",
		"owner":                   "Commercial attitré",
		"joined":                  "Adhésion",
		"segment":                 "Segment RFM",
		"hottest":                 "Contact le plus engagé",
		"crossed":                 "Seuil franchi",
		"interests":               "Centres d’intérêt",
		"explanation":             "Explication du score",
		"points_by_type":          "Points actuels par type d’événement",
		"event_type":              "Type d’événement",
		"points_now":              "Points actuels",
		"contact":                 "Contact",
		"count":                   "Nombre",
		"points":                  "Points",
		"timeline":                "Chronologie",
		"at":                      "Quand (UTC)",
		"enrollments":             "Inscriptions",
		"flow":                    "Parcours",
		"status":                  "Statut",
		"handoff_history":         "Historique des transmissions",
		"rep":                     "Commercial",
		"state":                   "État",
		"outcome":                 "Résultat",
		"note":                    "Note",
		"none":                    "Aucun.",
		"more_contacts":           "Les 50 contacts les plus engagés ; %s autres ne figurent pas ici.",
		"unrouted_per_day":        "Transmissions qu’aucun commercial n’a pu prendre, par jour, 14 derniers jours",
		"unrouted_note":           "Transmissions qu’aucun commercial n’a pu prendre à leur création (ni commercial attitré, ni territoire, ni tourniquet avec de la capacité). Le balayage SLA les attribue dès qu’un commercial se libère.",
		"queued_at":               "En file depuis",
		"reasons":                 "Raisons",
		"not_found":               "Introuvable",
		"no_partner":              "Aucun partenaire %q.",
	},
}

// layoutLabels are the words of layout.html (the top bar on every page)
// and error.html, by language: the rep pages are English; an ops page in
// French sets base.Lang and gets a French top bar. The product name,
// longtail, is a proper name and reads the same in both.
var layoutLabels = map[string]map[string]string{
	"en": {
		"product":       "longtail",
		"home":          "Your queue",
		"ops":           "Ops",
		"outbox":        "Outbox",
		"signed_in_as":  "Signed in as %s",
		"sign_out":      "Sign out",
		"admin":         "Admin",
		"admin_id":      "admin (API key)",
		"back_to_queue": "Back to your queue",
		"no_export":     "There is no such export.",
	},
	"fr": {
		"product":       "longtail",
		"home":          "Votre file",
		"ops":           "Pilotage",
		"outbox":        "Boîte d’envoi",
		"signed_in_as":  "Connecté : %s",
		"sign_out":      "Se déconnecter",
		"admin":         "Administrateur",
		"admin_id":      "administrateur (clé d’API)",
		"back_to_queue": "Retour à votre file",
		"no_export":     "Cet export n’existe pas.",
	},
}

// T is the layout's word for key in the page's language (English when
// the page has none, or its language lacks the word).
func (b base) T(key string) string {
	if l, ok := layoutLabels[b.Lang][key]; ok {
		return l
	}
	return layoutLabels["en"][key]
}

// acceptLanguage picks the language of an Accept-Language header the
// pages have (by have), highest q first; English when none.
func acceptLanguage(header string, have func(string) bool) string {
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		l, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if have(l) && q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// figures is a page's opsview.Locale as its templates use it: every
// figure, percentage and date on an ops page is written through it.
type figures struct{ opsview.Locale }

// N writes a count or a value (any of the integer or float types the
// views hold: templates cannot convert).
func (f figures) N(v any) string {
	switch v := v.(type) {
	case int:
		return f.Int(int64(v))
	case int64:
		return f.Int(v)
	case float64:
		return f.Count(v)
	}
	return fmt.Sprint(v)
}

// Fix1 writes a score or points with one decimal.
func (f figures) Fix1(v float64) string { return f.Fixed(v, 1) }

// DateTimeP is DateTime of a time that may be missing.
func (f figures) DateTimeP(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return f.DateTime(*t)
}

// Money writes an amount as program.Money does in the page's language.
func (f figures) Money(v float64, currency string) string {
	return program.Money(v, currency, f.Lang())
}

// Quarter writes a program quarter in the page's language.
func (f figures) Quarter(q program.Quarter) string { return f.Locale.Quarter(q.Year, q.Q) }

// opsTerms are the French words of the values the ops pages show from
// the stores (a stage, a move, a hand-off's state…), by group. English
// pages show the values themselves, as the API and the CSV exports name
// them; a value a group lacks (a segment or step named in the config, an
// event type) is shown as it is in both languages.
var opsTerms = map[string]map[string]string{
	"stage": {"recruited": "recruté", "onboarding": "en intégration", "productive": "productif",
		"growing": "en croissance", "steady": "stable", "declining": "en déclin", "dormant": "dormant", "churned": "parti"},
	"move":   {"up": "monter", "down": "descendre", "stay": "rester", "set": "attribuer"},
	"rule":   {"no_deal": "aucune affaire", "falling": "en baisse"},
	"action": {"reengage": "relancer", "wait": "attendre", "exit": "faire sortir", "exited": "sorti", "kept": "gardé"},
	"letgo":  {"recommended": "recommandé", "reengaging": "en relance", "exited": "sorti", "kept": "gardé"},
	"handoff_kind": {"queued": "en file", "unrouted": "non attribuée", "routed": "attribuée", "claimed": "prise",
		"outcome": "résultat", "reassigned": "réattribuée", "escalated": "escaladée"},
	"handoff_state": {"queued": "en file", "claimed": "prise", "closed": "clôturée"},
	"outcome": {"converted": "converti", "callback": "à rappeler", "not_now": "pas maintenant", "not_a_fit": "pas adapté",
		"wrong_contact": "mauvais contact", "no_answer": "pas de réponse"},
	"step_kind": {"send": "envoi", "wait": "attente", "wait_for": "attente d’un événement", "branch": "embranchement",
		"tag": "étiquette", "score": "score", "exit": "sortie"},
	"status": {"active": "actif", "waiting": "en attente", "paused": "en pause", "exited": "sorti", "completed": "terminé"},
	"filtered": {"duplicate": "doublon", "machine_open": "ouverture automatique", "scanner_click": "clic d’un antivirus",
		"per_message": "plafond par message", "daily_cap": "plafond du jour"},
	"segment": {"champions": "champions", "loyal": "fidèles", "new": "nouveaux", "potential": "potentiels",
		"at risk": "à risque", "hibernating": "en sommeil", "lost": "perdus"},
	"history": {"done": "fait", "sent": "envoyé", "uncertain": "incertain", "enrolled": "inscrit", "resumed": "repris",
		"timed out": "délai écoulé", "completed": "terminé"},
}

// historyPrefixes are the French of the nurture history's outcomes that
// carry a detail after a fixed head ("exit: unsubscribed").
var historyPrefixes = [][2]string{{"goto ", "aller à "}, {"exit: ", "sortie : "}, {"paused: ", "pause : "}, {"deferred to ", "reporté au "}}

// term writes a store's value v of group in lang.
func term(lang, group string, v any) string {
	s := fmt.Sprint(v)
	if lang != "fr" {
		return s
	}
	if w, ok := opsTerms[group][s]; ok {
		return w
	}
	if group == "history" {
		for _, p := range historyPrefixes {
			if rest, ok := strings.CutPrefix(s, p[0]); ok {
				if t, err := time.Parse(time.RFC3339, rest); err == nil {
					rest = opsview.French.DateTime(t)
				}
				return p[1] + rest
			}
		}
	}
	return s
}
