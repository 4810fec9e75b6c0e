package webhook_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
)

func TestResultAdd(t *testing.T) {
	t.Parallel()
	good := &event.Event{ID: "a", Type: event.EmailOpen, Email: "x@example.com", OccurredAt: time.Unix(1, 0), Source: "p"}
	invalid := &event.Event{ID: "b", Type: event.EmailOpen, Source: "p"} // no email, no time
	tests := []struct {
		name    string
		ev      *event.Event
		kind    string
		err     error
		wantErr string
		events  int
		ignored map[string]int
	}{
		{"event", good, "", nil, "", 1, nil},
		{"ignored type", nil, "processed", nil, "", 0, map[string]int{"processed": 1}},
		{"normalize error", nil, "", errors.New("timestamp: missing"), "item 3: timestamp: missing", 0, nil},
		{"event that does not validate", invalid, "", nil, "item 3: ", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r webhook.Result
			err := r.Add(3, tt.ev, tt.kind, tt.err)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Add: %v", err)
			}
			if tt.wantErr != "" && (!errors.Is(err, webhook.ErrBadPayload) || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Add: %v, want ErrBadPayload with %q", err, tt.wantErr)
			}
			if len(r.Events) != tt.events || len(r.Ignored) != len(tt.ignored) || r.Ignored[tt.kind] != tt.ignored[tt.kind] {
				t.Errorf("result %+v, want %d events, ignored %v", r, tt.events, tt.ignored)
			}
		})
	}
}
