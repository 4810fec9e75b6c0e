package repqueue

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring"
)

// Locales reasons are written in.
var reasonLocales = []string{"en", "fr"}

// reasonGroup is one thing the contact engaged with, maybe several times.
type reasonGroup struct {
	typ    event.Type
	title  string // what was engaged with, as the event named it
	topic  string
	link   string
	points float64
	count  int
	last   time.Time
	// interest names the contact's top interest for a group with no
	// title, topic or link, so that the reason still says what about.
	interest string
}

// buildReasons turns the contact's scored events into at most max
// sentences per locale that a rep can open a call with. Events of one type
// about one thing (title, else topic, else link) are one reason; reasons
// are ordered by the points they scored, then by recency. Filtered and
// zero-point events are left out: they did not make the partner hot.
// Events with nothing to name them by (a visit posted without a URL,
// title or topic) name the contact's top interest instead, from
// interests, so no reason reads "Visited a page 4 times".
func buildReasons(items []scoring.TimelineItem, interests map[string]float64, now time.Time, max int) map[string][]string {
	top := topInterest(interests)
	groups := map[string]*reasonGroup{}
	var order []*reasonGroup
	for _, it := range items {
		if it.Filtered != "" || it.Points <= 0 {
			continue
		}
		g := &reasonGroup{typ: it.Type, title: cleanTitle(it.Title), topic: it.Topic, link: shortURL(it.URL)}
		key := string(it.Type) + "\x00"
		switch {
		case g.title != "":
			key += "t" + g.title
		case g.topic != "":
			key += "o" + g.topic
		default:
			key += "u" + g.link
			if g.link == "" {
				g.interest = top
			}
		}
		if prev := groups[key]; prev != nil {
			g = prev
		} else {
			groups[key] = g
			order = append(order, g)
		}
		g.points += it.Points
		g.count++
		if it.OccurredAt.After(g.last) {
			g.last = it.OccurredAt
		}
	}
	slices.SortStableFunc(order, func(a, b *reasonGroup) int {
		if c := cmp.Compare(b.points, a.points); c != 0 {
			return c
		}
		return b.last.Compare(a.last)
	})
	if len(order) > max {
		order = order[:max]
	}
	out := make(map[string][]string, len(reasonLocales))
	for _, loc := range reasonLocales {
		out[loc] = make([]string, 0, len(order))
		for _, g := range order {
			out[loc] = append(out[loc], g.sentence(loc, now))
		}
	}
	return out
}

// topInterest is the topic with the most points, ties to the first in
// name order so that reasons are stable; "" with none.
func topInterest(interests map[string]float64) string {
	best, pts := "", 0.0
	for topic, p := range interests {
		if p > pts || (p == pts && p > 0 && topic < best) {
			best, pts = topic, p
		}
	}
	return best
}

const maxTitle = 120

func cleanTitle(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxTitle {
		r := []rune(s)
		s = string(r[:maxTitle-1]) + "…"
	}
	return s
}

// shortURL is host and path, for a reason about a link without a title.
func shortURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return cleanTitle(strings.TrimSuffix(u.Host+u.Path, "/"))
}

// webVisitUnnamed is the phrase key of visits with no title, topic or
// link; never an event type.
const webVisitUnnamed event.Type = "web.visit/unnamed"

// phrase holds one locale's words for an event type: the verb phrase and
// the noun for a thing without a title.
type phrase struct{ verb, noun string }

var phrases = map[string]map[event.Type]phrase{
	"en": {
		event.EmailOpen:  {"Opened", "an email"},
		event.EmailClick: {"Clicked", "a link"},
		event.EmailReply: {"Replied to", "an email"},
		event.WebVisit:   {"Visited", "a page"},
		// webVisitUnnamed stands for a visit with no page to name.
		webVisitUnnamed:         {"Visited", "the website"},
		event.ContentDownload:   {"Downloaded", "a document"},
		event.WebinarRegistered: {"Registered for the webinar", "a webinar"},
		event.WebinarAttended:   {"Attended the webinar", "a webinar"},
		event.EventAttended:     {"Attended the event", "an event"},
		event.DealRegistered:    {"Registered a deal:", "a deal"},
		event.DealWon:           {"Won a deal:", "a deal"},
		event.Purchase:          {"Bought", "a product"},
	},
	"fr": {
		event.EmailOpen:         {"A ouvert", "un e-mail"},
		event.EmailClick:        {"A cliqué sur", "un lien"},
		event.EmailReply:        {"A répondu à", "un e-mail"},
		event.WebVisit:          {"A visité", "une page"},
		webVisitUnnamed:         {"A visité", "le site"},
		event.ContentDownload:   {"A téléchargé", "un document"},
		event.WebinarRegistered: {"S'est inscrit au webinaire", "un webinaire"},
		event.WebinarAttended:   {"A assisté au webinaire", "un webinaire"},
		event.EventAttended:     {"A assisté à l'événement", "un événement"},
		event.DealRegistered:    {"A enregistré une affaire :", "une affaire"},
		event.DealWon:           {"A conclu une affaire :", "une affaire"},
		event.Purchase:          {"A acheté", "un produit"},
	},
}

// sentence renders the reason, e.g. "Opened 'Deal registration in 3
// clicks' (2 days ago)" or "A cliqué sur « Sécurité » deux fois (hier)".
func (g *reasonGroup) sentence(loc string, now time.Time) string {
	typ := g.typ
	if typ == event.WebVisit && g.title == "" && g.topic == "" && g.link == "" {
		// Several visits to pages nobody named are visits to the site,
		// not "a page 4 times".
		typ = webVisitUnnamed
	}
	ph, ok := phrases[loc][typ]
	if !ok {
		ph = phrase{verb: string(g.typ) + ":", noun: "-"}
	}
	var what string
	switch {
	case g.title != "":
		what = quote(loc, g.title)
	case g.topic != "":
		what = ph.noun + map[string]string{"en": " about ", "fr": " sur "}[loc] + g.topic
	case g.link != "":
		what = ph.noun + " (" + g.link + ")"
	default:
		what = ph.noun
	}
	s := ph.verb + " " + what
	if g.typ == event.WebinarRegistered || g.typ == event.WebinarAttended || g.typ == event.EventAttended {
		if g.title == "" {
			// "Attended the webinar a webinar about x" reads badly.
			s = map[string]string{"en": "Took part in ", "fr": "A participé à "}[loc] + what
		}
	}
	if n := times(loc, g.count); n != "" {
		s += " " + n
	}
	if g.interest != "" {
		s += map[string]string{"en": ", most interested in ", "fr": ", surtout intéressé par "}[loc] + g.interest
	}
	return s + " (" + ago(loc, now.Sub(g.last)) + ")"
}

func quote(loc, s string) string {
	if loc == "fr" {
		return "« " + s + " »"
	}
	return "'" + s + "'"
}

func times(loc string, n int) string {
	switch {
	case n <= 1:
		return ""
	case n == 2 && loc == "fr":
		return "deux fois"
	case n == 2:
		return "twice"
	case loc == "fr":
		return fmt.Sprintf("%d fois", n)
	default:
		return fmt.Sprintf("%d times", n)
	}
}

// ago says how long ago, in whole days, weeks or months.
func ago(loc string, d time.Duration) string {
	days := int(d / (24 * time.Hour))
	fr := loc == "fr"
	switch {
	case days <= 0 && fr:
		return "aujourd'hui"
	case days <= 0:
		return "today"
	case days == 1 && fr:
		return "hier"
	case days == 1:
		return "yesterday"
	case days < 14 && fr:
		return fmt.Sprintf("il y a %d jours", days)
	case days < 14:
		return fmt.Sprintf("%d days ago", days)
	case days < 60 && fr:
		return fmt.Sprintf("il y a %d semaines", days/7)
	case days < 60:
		return fmt.Sprintf("%d weeks ago", days/7)
	case fr:
		return fmt.Sprintf("il y a %d mois", days/30)
	default:
		return fmt.Sprintf("%d months ago", days/30)
	}
}
