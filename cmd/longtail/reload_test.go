package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// flowIDs lists the flows GET /v1/flows shows.
func flowIDs(t *testing.T, s *service) []string {
	t.Helper()
	var out struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if code := doAs(t, s, testAPIKey, "GET", "/v1/flows", "", &out); code != 200 {
		t.Fatalf("GET /v1/flows = %d", code)
	}
	var ids []string
	for _, f := range out.Items {
		ids = append(ids, f.ID)
	}
	slices.Sort(ids)
	return ids
}

// POST /v1/flows/reload refuses an invalid set whole, with every problem
// as file:line:col, and keeps the old flows; a valid set replaces them,
// reporting the steps it removed; SIGHUP reloads as well.
func TestReloadFlows(t *testing.T) {
	t.Parallel()
	s, _, _, dir := startTriggers(t)
	flows := filepath.Join(dir, "flows")
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(flows, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := flowIDs(t, s); !slices.Equal(got, []string{"created", "segment"}) {
		t.Fatalf("flows %v at start", got)
	}
	// Two mistakes in one new file, one in another: all three reported.
	write("bad.yaml", "id: bad\nname: Bad\nsteps:\n  - {id: one, send: no-such-template}\n  - {id: two, wait: soon}\n")
	write("worse.yaml", "id: worse\nname: Worse\ncolour: red\nsteps:\n  - {id: one, exit: true}\n")
	var refused struct {
		Error struct {
			Code    string   `json:"code"`
			Message string   `json:"message"`
			Errors  []string `json:"errors"`
		} `json:"error"`
	}
	if code := doAs(t, s, testAPIKey, "POST", "/v1/flows/reload", "", &refused); code != 422 {
		t.Fatalf("POST /v1/flows/reload with mistakes = %d, want 422", code)
	}
	if refused.Error.Code != "invalid_flows" || len(refused.Error.Errors) != 3 {
		t.Fatalf("refusal %+v, want invalid_flows with 3 errors", refused.Error)
	}
	for _, e := range refused.Error.Errors {
		if !strings.Contains(e, ".yaml:") || strings.Count(e, ":") < 4 {
			t.Errorf("error %q is not file:line:col: field: message", e)
		}
	}
	if got := flowIDs(t, s); !slices.Equal(got, []string{"created", "segment"}) {
		t.Errorf("flows %v after a refused reload, want the old ones", got)
	}
	// A key without admin rights may not reload.
	if code := doAs(t, s, "not-a-key", "POST", "/v1/flows/reload", "", nil); code != 401 && code != 403 {
		t.Errorf("reload without the admin key = %d, want 401 or 403", code)
	}
	// Fixed, and the segment flow loses its step: accepted.
	if err := os.Remove(filepath.Join(flows, "bad.yaml")); err != nil {
		t.Fatal(err)
	}
	write("worse.yaml", "id: worse\nname: Worse\nsteps:\n  - {id: one, exit: true}\n")
	write("segment.yaml", "id: segment\nname: Lost partners\ntriggers: [{segment: lost}]\nwindow: always\nsteps:\n  - {id: bye, exit: true}\n")
	var done struct {
		Flows        int      `json:"flows"`
		RemovedSteps []string `json:"removed_steps"`
	}
	if code := doAs(t, s, testAPIKey, "POST", "/v1/flows/reload", "", &done); code != 200 {
		t.Fatalf("POST /v1/flows/reload = %d", code)
	}
	if done.Flows != 3 || !slices.Equal(done.RemovedSteps, []string{"segment/hello"}) {
		t.Errorf("reloaded %+v, want 3 flows and segment/hello removed", done)
	}
	if got := flowIDs(t, s); !slices.Equal(got, []string{"created", "segment", "worse"}) {
		t.Errorf("flows %v after the reload", got)
	}
	// SIGHUP: the same reload, without stopping serve.
	write("later.yaml", "id: later\nname: Later\nsteps:\n  - {id: one, exit: true}\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		if got := flowIDs(t, s); !slices.Contains(got, "later") {
			return errorf("flows %v after SIGHUP, want later too", got)
		}
		return nil
	})
}
