package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/scoring"
)

// TestScoreDump: `score dump CONTACT_ID` finds the contact's partner in
// the directory and prints what scoring keeps for it, decoded, as JSON
// (--json) or for people.
func TestScoreDump(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutPartner(ctx, directory.Partner{ID: "acme", Name: "Acme", Type: "MSP"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dir.PutContact(ctx, directory.Contact{ID: "jane", PartnerID: "acme", Email: "jane@acme.example"}); err != nil {
		t.Fatal(err)
	}
	eng, err := scoring.NewEngine(rdb, scoring.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	if _, err := eng.Apply(ctx, scoring.Target{PartnerID: "acme", ContactID: "jane"}, []event.Event{
		{ID: "sg:1", Type: event.EmailOpen, MessageID: "m1", OccurredAt: now},
		{ID: "zoom:1", Type: event.WebinarAttended, Topic: "security", OccurredAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	env := []string{"LONGTAIL_REDIS_URL=" + url}

	var out, errOut syncBuffer
	if err := run(ctx, []string{"score", "dump", "jane", "--json"}, env, &out, &errOut); err != nil {
		t.Fatalf("score dump --json: %v\n%s", err, errOut.String())
	}
	var d scoring.ContactDump
	if err := json.Unmarshal([]byte(out.String()), &d); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	var kinds []string
	for _, r := range d.Records {
		kinds = append(kinds, r.Kind+":"+r.EventID+r.MessageID)
	}
	want := "event_id:sg:1,open:m1,event_id:zoom:1,daily_cap:,explain:,explain:"
	if d.PartnerID != "acme" || d.Header == nil || d.Header.Score < 10.99 || strings.Join(kinds, ",") != want ||
		len(d.Explain) != 2 || len(d.Timeline) != 2 {
		t.Errorf("dump %+v: records %s, want %s", d, strings.Join(kinds, ","), want)
	}

	out = syncBuffer{}
	if err := run(ctx, []string{"score", "dump", "jane"}, env, &out, &errOut); err != nil {
		t.Fatalf("score dump: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"contact jane of partner acme", "score 11.00", "event_id", "sg:1", "message m1",
		"email.open " + now.Format(time.DateOnly), "explain aggregates", "webinar.attended", "timeline (2 items"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("score dump output lacks %q:\n%s", want, out.String())
		}
	}

	tests := []struct {
		args  []string
		usage bool
	}{
		{[]string{"score", "dump"}, true},
		{[]string{"score", "dump", "jane", "joe"}, true},
		{[]string{"score", "dump", "nobody"}, false},
	}
	for _, tt := range tests {
		err := run(ctx, tt.args, env, &syncBuffer{}, &syncBuffer{})
		if err == nil || errors.Is(err, errUsage) != tt.usage {
			t.Errorf("%v: %v, want an error (usage %v)", tt.args, err, tt.usage)
		}
		if !tt.usage && !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("%v: %v, want the contact not found", tt.args, err)
		}
	}
}
