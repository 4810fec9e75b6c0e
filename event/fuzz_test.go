package event_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/longtailhq/longtail/event"
)

// FuzzSplitBatch feeds /v1/events bodies and simulate files to the splitter and the
// per-item decoding their callers do: no panic, and every item it accepts
// validates and survives a JSON round trip.
func FuzzSplitBatch(f *testing.F) {
	f.Add([]byte(`[{"id":"a","type":"email.open","email":"j@a.example","occurred_at":"2026-11-20T09:31:02Z"}]`))
	f.Add([]byte("{\"id\":\"a\",\"type\":\"web.visit\",\"contact_id\":\"c\",\"occurred_at\":\"2026-11-20T09:31:02Z\"}\n\n{\"id\":7}\n"))
	f.Add([]byte(`[1, "x", null, {}]`))
	if b, err := os.ReadFile("../testdata/webhooks/sendgrid/docs-2021/all-event-types.json"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := event.SplitBatch(body)
		if err != nil {
			return
		}
		for _, item := range items {
			var ev event.Event
			if json.Unmarshal(item.JSON, &ev) != nil {
				continue
			}
			if ev.Validate() != nil {
				continue
			}
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("accepted event does not marshal: %v", err)
			}
			var back event.Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("round trip: %v", err)
			}
			if err := back.Validate(); err != nil {
				t.Fatalf("accepted event fails validation after a round trip: %v", err)
			}
		}
	})
}
