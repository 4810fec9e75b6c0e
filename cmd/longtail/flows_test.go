package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFlows(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runCmd runs longtail in-process with no environment and returns its exit
// status and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), args, nil, &out, &errOut)
	return exitCode(err, &errOut), out.String(), errOut.String()
}

// A flow file with three mistakes: flows validate reports all three, each
// with its file, line and column, and exits 1.
func TestFlowsValidateReportsEveryMistake(t *testing.T) {
	t.Parallel()
	dir := writeFlows(t, map[string]string{
		"dealreg.yaml": `id: dealreg-owner-manager
name: Deal registration made easy
audience:
  personas: [owner-manager]
  partner_typs: [VAR]
steps:
  - {id: welcome, send: dealreg-intro-owner}
  - {id: pause, wait: 3 weeks}
  - id: clicked
    wait_for: {event: email.click, step: welcome, within: 5d}
    then: follow-up
`,
		"ok.yaml": "id: ok\nname: Fine\nsteps: [{id: a, send: dealreg-nudge}]\n",
	})
	code, out, errOut := runCmd(t, "flows", "validate", dir)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	file := filepath.Join(dir, "dealreg.yaml")
	want := []string{
		file + ":5:3: audience.partner_typs: unknown key (known keys here: personas, partner_types, tiers, segments, score, tags, locales)",
		file + `:8:23: steps[1].wait: "3 weeks" is not a wait: write a duration (3d, 36h, 90m), "2 business days" or "until mon 09:00"`,
		file + `:11:11: steps[2].then: no step has the id "follow-up"`,
		"3 problems in " + dir + " and templates/nurture",
	}
	if got := strings.Split(strings.TrimSpace(errOut), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, strings.Join(want, "\n"))
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing", out)
	}
}

func TestFlowsValidateTemplates(t *testing.T) {
	t.Parallel()
	flows := writeFlows(t, map[string]string{
		"a.yaml": "id: a\nname: A\nsteps:\n  - {id: s, send: hello}\n  - {id: t, send: gone}\n",
	})
	tmpl := writeFlows(t, map[string]string{
		"hello.en.txt": "{{define \"subject\"}}Hi{{end}}Hello {{.Contact.Firstname}}",
		"hello.fr.txt": "{{define \"subject\"}}Salut{{end}}Bonjour {{.Contact.FirstName}}",
	})
	code, _, errOut := runCmd(t, "flows", "validate", flows, "--templates", tmpl)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	for _, want := range []string{
		filepath.Join(flows, "a.yaml") + `:5:19: steps[1].send: no such template "gone"`,
		filepath.Join(tmpl, "hello.en.txt") + ":1:45: text: <.Contact.Firstname>: can't evaluate field Firstname",
		"2 problems",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestFlowsValidateShipped(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCmd(t, "flows", "validate")
	if code != 0 || out != "ok: 11 flows (flows) and 17 templates (templates/nurture) are valid\n" {
		t.Errorf("flows validate: status %d, stdout %q, stderr %q", code, out, errOut)
	}
	// The repository's flows/ directory is what the binary embeds.
	code, out, errOut = runCmd(t, "flows", "validate", "../../flows", "--templates", "../../templates/nurture")
	if code != 0 || !strings.HasPrefix(out, "ok: 11 flows (../../flows) and 17 templates") {
		t.Errorf("flows validate ../../flows: status %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestFlowsList(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCmd(t, "flows", "list")
	if code != 0 {
		t.Fatalf("flows list: status %d, stderr %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 12 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("flows list printed %d lines:\n%s", len(lines), out)
	}
	for _, want := range []string{
		"reengage-owner-manager", "Re-engage hibernating partners (owners and managers)",
		"personas owner-manager; segments hibernating", "{segment: hibernating}",
		"personas technical; tiers registered,silver; score ≤29", "handoff.recycled",
		"program-last-call", "Last call before the program lets a partner go",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("flows list lacks %q:\n%s", want, out)
		}
	}
	dir := writeFlows(t, map[string]string{"a.yaml": "id: api-only\nname: By API\nsteps: [{id: a, exit: true}]\n"})
	var stdout syncBuffer
	if err := run(context.Background(), []string{"flows", "list"}, []string{"LONGTAIL_NURTURE_FLOWS_DIR=" + dir}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "api-only") || !strings.Contains(stdout.String(), "everyone") || !strings.Contains(stdout.String(), "API only") {
		t.Errorf("flows list of nurture.flows_dir:\n%s", stdout.String())
	}
}

func TestFlowsUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"flows", "--help"}, 0, "longtail flows validate [DIR]"},
		{[]string{"flows", "validate", "--help"}, 0, "longtail flows list"},
		{[]string{"flows", "list", "-h"}, 0, "longtail flows validate"},
		{[]string{"flows"}, 2, ""},
		{[]string{"flows", "preview"}, 2, ""},
		{[]string{"flows", "list", "extra"}, 2, ""},
		{[]string{"flows", "validate", "a", "b"}, 2, ""},
		{[]string{"flows", "validate", "/no/such/dir"}, 1, ""},
	}
	for _, tc := range tests {
		code, out, _ := runCmd(t, tc.args...)
		if code != tc.wantCode || !strings.Contains(out, tc.wantOut) {
			t.Errorf("%q: status %d, stdout %q; want %d and %q", tc.args, code, out, tc.wantCode, tc.wantOut)
		}
	}
}
