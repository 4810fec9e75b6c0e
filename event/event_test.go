package event_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/event"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := func() event.Event {
		return event.Event{ID: "x:1", Type: event.EmailOpen, Email: " Jane@Acme.Example ", OccurredAt: time.Now()}
	}
	tests := []struct {
		name  string
		edit  func(*event.Event)
		field string // "" = valid
	}{
		{"valid", func(*event.Event) {}, ""},
		{"contact id instead of email", func(e *event.Event) { e.Email, e.ContactID = "", "c1" }, ""},
		{"no id", func(e *event.Event) { e.ID = "" }, "id"},
		{"long id", func(e *event.Event) { e.ID = strings.Repeat("x", 513) }, "id"},
		{"unknown type", func(e *event.Event) { e.Type = "email.opened" }, "type"},
		{"nobody", func(e *event.Event) { e.Email = "" }, "email"},
		{"bad email", func(e *event.Event) { e.Email = "jane at acme" }, "email"},
		{"display name", func(e *event.Event) { e.Email = "Jane <jane@acme.example>" }, "email"},
		{"no domain dot", func(e *event.Event) { e.Email = "jane@acme" }, "email"},
		{"no time", func(e *event.Event) { e.OccurredAt = time.Time{} }, "occurred_at"},
		{"negative value", func(e *event.Event) { e.Value = -1 }, "value"},
		{"huge url", func(e *event.Event) { e.URL = strings.Repeat("u", 2049) }, "url"},
		{"bounce kind", func(e *event.Event) { e.Bounce = "medium" }, "bounce"},
		{"too many tags", func(e *event.Event) { e.Tags = make([]string, 33) }, "tags"},
		{"deal from the partner", func(e *event.Event) { e.Type, e.Origin = event.DealRegistered, "partner" }, ""},
		{"won deal from the vendor", func(e *event.Event) { e.Type, e.Origin = event.DealWon, "vendor" }, ""},
		{"purchase from the vendor", func(e *event.Event) { e.Type, e.Origin = event.Purchase, "vendor" }, ""},
		{"unknown origin", func(e *event.Event) { e.Type, e.Origin = event.Purchase, "Partner" }, "origin"},
		{"origin on an open", func(e *event.Event) { e.Origin = "partner" }, "origin"},
	}
	for _, tc := range tests {
		ev := ok()
		tc.edit(&ev)
		err := ev.Validate()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, event.ErrInvalid) || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("%s: err = %v, want ErrInvalid naming %s", tc.name, err, tc.field)
		}
	}
	ev := ok()
	if err := ev.Validate(); err != nil || ev.Email != "jane@acme.example" {
		t.Errorf("email not normalised: %q %v", ev.Email, err)
	}
}

func TestNurtureScorePoints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value float64
		ok    bool
	}{{5, true}, {-5, true}, {1000, true}, {0, false}, {1001, false}, {-1001, false}} {
		ev := event.Event{ID: "n1", Type: event.NurtureScore, ContactID: "c1", OccurredAt: time.Unix(1e9, 0), Value: tc.value}
		if err := ev.Validate(); (err == nil) != tc.ok {
			t.Errorf("value %v: err %v, want ok %v", tc.value, err, tc.ok)
		}
	}
	neg := event.Event{ID: "p1", Type: event.Purchase, ContactID: "c1", OccurredAt: time.Unix(1e9, 0), Value: -5}
	if neg.Validate() == nil {
		t.Error("a negative purchase value passed")
	}
}

func TestTypes(t *testing.T) {
	t.Parallel()
	// DESIGN.md's 14, deal.won (issue 13: a converted call) and
	// nurture.score (issue 12: a flow's score step).
	if n := len(event.Types()); n != 16 {
		t.Errorf("%d types, want DESIGN.md's 14, deal.won and nurture.score", n)
	}
	for _, typ := range event.Types() {
		if !typ.Valid() {
			t.Errorf("%s not valid", typ)
		}
	}
}

func TestHashID(t *testing.T) {
	t.Parallel()
	a := event.HashID("brevo", "ab", "c")
	if a != event.HashID("brevo", "ab", "c") {
		t.Error("not deterministic")
	}
	if a == event.HashID("brevo", "a", "bc") {
		t.Error("field boundaries do not count")
	}
	if !strings.HasPrefix(a, "brevo:") || len(a) != len("brevo:")+32 {
		t.Errorf("shape: %s", a)
	}
}

// Stored dedup ids depend on HashID: this example pins its output, so a
// change that would make every redelivery look new fails here.
func ExampleHashID() {
	fmt.Println(event.HashID("postmark", "Open", "883953f4-6105-42a2-a16a-77a8eac79483", "john@example.com", "2019-11-05T16:33:54.9070259Z", ""))
	// Output: postmark:c4cfe56b8cc65e6cd8b5ca11b8630d05
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 3, "hel"},
		{"héllo", 2, "h"}, // é is two bytes: never cut inside it
		{"héllo", 3, "hé"},
	} {
		if got := event.Truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
