package repqueue

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring"
)

func TestBuildReasons(t *testing.T) {
	t.Parallel()
	now := monday10
	item := func(typ event.Type, ago time.Duration, pts float64, title, topic, url, filtered string) scoring.TimelineItem {
		return scoring.TimelineItem{Type: typ, OccurredAt: now.Add(-ago), Points: pts, Title: title, Topic: topic, URL: url, Filtered: filtered}
	}
	day := 24 * time.Hour
	tests := []struct {
		name      string
		items     []scoring.TimelineItem
		interests map[string]float64
		max       int
		want      map[string][]string
	}{
		{"nothing scored", []scoring.TimelineItem{
			item(event.EmailOpen, day, 0, "Machine open", "", "", "machine"),
			item(event.EmailDelivered, day, 0, "Delivered", "", "", ""),
		}, nil, 3, map[string][]string{"en": {}, "fr": {}}},
		{"grouped by thing, ordered by points then recency, capped", []scoring.TimelineItem{
			item(event.WebVisit, 20*day, 3, "", "security", "", ""),
			item(event.WebVisit, 21*day, 3, "", "security", "", ""),
			item(event.WebVisit, 22*day, 3, "", "security", "", ""),
			item(event.EmailClick, 90*day, 5, "", "", "https://vendor.example/storage/nas/?utm=x", ""),
			item(event.EmailClick, 3*day, 5, "", "", "", "scanner_click"),
			item(event.WebinarRegistered, 6*day, 5, "", "storage", "", ""),
			item(event.EmailOpen, 2*time.Hour, 1, "Hello", "", "", ""),
		}, nil, 3, map[string][]string{
			"en": {
				"Visited a page about security 3 times (2 weeks ago)",
				"Took part in a webinar about storage (6 days ago)",
				"Clicked a link (vendor.example/storage/nas) (3 months ago)",
			},
			"fr": {
				"A visité une page sur security 3 fois (il y a 2 semaines)",
				"A participé à un webinaire sur storage (il y a 6 jours)",
				"A cliqué sur un lien (vendor.example/storage/nas) (il y a 3 mois)",
			},
		}},
		{"titles are tidied", []scoring.TimelineItem{
			item(event.EventAttended, 0, 10, "  Partner   Summit\n2026 ", "", "", ""),
		}, nil, 3, map[string][]string{
			"en": {"Attended the event 'Partner Summit 2026' (today)"},
			"fr": {"A assisté à l'événement « Partner Summit 2026 » (aujourd'hui)"},
		}},
		// A CRM posting visits with no URL, title or topic: the reason
		// names the site and the contact's top interest, never "Visited
		// a page 4 times".
		{"visits with nothing to name them by", []scoring.TimelineItem{
			item(event.WebVisit, 0, 3, "", "", "", ""),
			item(event.WebVisit, time.Hour, 3, "", "", "", ""),
			item(event.WebVisit, 2*time.Hour, 3, "", "", "", ""),
			item(event.WebVisit, 3*time.Hour, 3, "", "", "", ""),
			item(event.WebVisit, 4*time.Hour, 3, "", "", "https://vendor.example/pricing", ""),
		}, map[string]float64{"storage": 4, "security": 9.5, "cloud": 0.5}, 3, map[string][]string{
			"en": {
				"Visited the website 4 times, most interested in security (today)",
				"Visited a page (vendor.example/pricing) (today)",
			},
			"fr": {
				"A visité le site 4 fois, surtout intéressé par security (aujourd'hui)",
				"A visité une page (vendor.example/pricing) (aujourd'hui)",
			},
		}},
		{"no interests either", []scoring.TimelineItem{
			item(event.WebVisit, 0, 3, "", "", "", ""),
			item(event.WebVisit, time.Hour, 3, "", "", "", ""),
		}, nil, 3, map[string][]string{
			"en": {"Visited the website twice (today)"},
			"fr": {"A visité le site deux fois (aujourd'hui)"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, buildReasons(tt.items, tt.interests, now, tt.max)); diff != "" {
				t.Errorf("(-want, +got):\n%s", diff)
			}
		})
	}
}
