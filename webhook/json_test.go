package webhook_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
)

func TestSplitItems(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]int{`{"a":1}`: 1, ` [ {"a":1}, {"b":2} ] `: 2, `[]`: 0} {
		items, err := webhook.SplitItems([]byte(body))
		if err != nil || len(items) != want {
			t.Errorf("SplitItems(%s) = %d items, %v; want %d", body, len(items), err, want)
		}
	}
	for _, body := range []string{``, `nope`, `[1,`, `"x"`} {
		if _, err := webhook.SplitItems([]byte(body)); err == nil {
			t.Errorf("SplitItems(%q) succeeded", body)
		}
	}
}

func TestCorrelate(t *testing.T) {
	t.Parallel()
	var meta map[string]json.RawMessage
	if err := json.Unmarshal([]byte(`{"lt_contact":"c1","lt_flow":"msp-onboarding","lt_step":3,"lt_message":null,"other":{"x":1}}`), &meta); err != nil {
		t.Fatal(err)
	}
	ev := event.Event{MessageID: "provider-id"}
	if err := webhook.Correlate(meta, &ev, "Metadata"); err != nil {
		t.Fatal(err)
	}
	if ev.ContactID != "c1" || ev.Flow != "msp-onboarding" || ev.Step != "3" || ev.MessageID != "provider-id" {
		t.Errorf("correlated %+v", ev)
	}
	meta["lt_flow"] = json.RawMessage(`{"nested":true}`)
	err := webhook.Correlate(meta, &ev, "Metadata")
	if err == nil || !strings.Contains(err.Error(), "Metadata.lt_flow") {
		t.Errorf("object value: err = %v, want it named", err)
	}
}

func TestCheckAge(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		signed time.Time
		maxAge time.Duration
		ok     bool
	}{
		{now.Add(-time.Minute), time.Hour, true},
		{now.Add(-2 * time.Hour), time.Hour, false},
		{now.Add(2 * time.Hour), time.Hour, false},
		{now.Add(-48 * time.Hour), 0, true},
	} {
		if err := webhook.CheckAge(tc.signed, now, tc.maxAge); (err == nil) != tc.ok {
			t.Errorf("CheckAge(%s, max %s) = %v", tc.signed.Sub(now), tc.maxAge, err)
		}
	}
}
