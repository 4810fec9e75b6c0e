package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README says what scripts/test.sh installs: every package the script
// may install with apt-get is named in it.
func TestReadmeNamesWhatTestShInstalls(t *testing.T) {
	t.Parallel()
	script, err := os.ReadFile("../../scripts/test.sh")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := regexp.MustCompile(`need\+=\(([a-z0-9-]+)\)`).FindAllStringSubmatch(string(script), -1)
	if len(pkgs) == 0 {
		t.Fatal("scripts/test.sh installs nothing any more: update this test")
	}
	for _, p := range pkgs {
		if !strings.Contains(string(readme), "`"+p[1]+"`") {
			t.Errorf("README does not say that scripts/test.sh installs %s", p[1])
		}
	}
}

// The README's quick start is the one TestQuickStartLeadsToARepsQueue
// runs: the same files, routes and rep.
func TestReadmeQuickStartMatchesItsTest(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"go run ./cmd/longtail serve",
		"LONGTAIL_REDIS_URL=redis://127.0.0.1:PORT",
		"for f in reps partners contacts; do go run ./cmd/longtail import $f examples/$f.csv; done",
		"--data-binary @examples/events.ndjson localhost:8080/v1/events",
		"'localhost:8080/v1/leaderboard?limit=5'",
		"localhost:8080/v1/reps/rep-anne/queue",
	} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README quick start lacks %q", want)
		}
	}
}
