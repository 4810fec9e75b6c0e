package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSimulateComparesThresholds(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) // a Monday
	var b strings.Builder
	line := func(id, typ, partner, contact string, at time.Time) {
		fmt.Fprintf(&b, `{"id":%q,"type":%q,"partner_id":%q,"contact_id":%q,"occurred_at":%q}`+"\n", id, typ, partner, contact, at.Format(time.RFC3339))
	}
	// acme: 10+10+5+5+3 = 33 in week 45; globex: 10+5+3 = 18 in week 46.
	line("a1", "webinar.attended", "acme", "jane", start)
	line("a2", "event.attended", "acme", "jane", start.Add(time.Hour))
	line("a3", "email.click", "acme", "joe", start.Add(2*time.Hour))
	line("a4", "email.click", "acme", "joe", start.Add(3*time.Hour))
	line("a5", "web.visit", "acme", "jane", start.Add(4*time.Hour))
	line("g1", "webinar.attended", "globex", "gil", start.Add(8*24*time.Hour))
	line("g2", "email.click", "globex", "gil", start.Add(8*24*time.Hour+time.Hour))
	line("g3", "web.visit", "globex", "gil", start.Add(8*24*time.Hour+2*time.Hour))
	line("a1", "webinar.attended", "acme", "jane", start) // duplicate: counted once
	b.WriteString(`{"id":"x","type":"email.opne","email":"x@y.example","occurred_at":"2026-11-02T09:00:00Z"}` + "\n")
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"simulate", "--events", path, "--threshold", "15,30", "--json"}, nil, &out, &errOut); err != nil {
		t.Fatalf("simulate: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), path+":10:") {
		t.Errorf("bad line 10 not reported: %s", errOut.String())
	}
	var rep simulation
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 {
		t.Fatalf("runs = %+v", rep.Runs)
	}
	got := map[float64][]string{}
	for _, r := range rep.Runs {
		for _, h := range r.Handoffs {
			got[r.Threshold] = append(got[r.Threshold], h.PartnerID)
		}
	}
	if fmt.Sprint(got[15]) != "[acme globex]" || fmt.Sprint(got[30]) != "[acme]" {
		t.Errorf("hand-offs by threshold = %v, want 15: [acme globex], 30: [acme]", got)
	}
	if rep.Runs[0].PerWeek["2026-W45"] != 1 || rep.Runs[0].PerWeek["2026-W46"] != 1 {
		t.Errorf("per week at 15 = %v", rep.Runs[0].PerWeek)
	}
	// The table form names the weeks and totals.
	out = syncBuffer{}
	if err := run(context.Background(), []string{"simulate", "--events", path, "--threshold", "15,30"}, nil, &out, &syncBuffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2026-W45", "threshold 30: 1 hand-offs", "acme"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}
