package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// flagLineRE matches a flag in the flag package's defaults listing.
var flagLineRE = regexp.MustCompile(`(?m)^\s+-([a-z][a-z-]*)`)

// Help is an answer, exit status 0, for every verb and wherever --help is
// on the line; and every flag a verb defines is in its help (and in
// `longtail --help`), so none is left out as --quiet was.
func TestHelpExitsZeroAndListsEveryFlag(t *testing.T) {
	t.Parallel()
	var all syncBuffer
	if err := run(context.Background(), []string{"--help"}, nil, &all, &syncBuffer{}); err != nil {
		t.Fatalf("longtail --help: %v", err)
	}
	for _, tc := range []struct {
		verb string
		// probe is a command line of the verb that reaches its flag
		// parsing, where an unknown flag lists the flags it defines.
		probe []string
	}{
		{"serve", []string{"serve"}},
		{"demo", []string{"demo"}},
		{"import", []string{"import", "partners", "x.csv"}},
		{"score", []string{"score", "explain", "p1"}},
		{"simulate", []string{"simulate"}},
		{"reps", []string{"reps", "token", "r1"}},
		{"handoff", []string{"handoff", "stats"}},
		{"program", []string{"program", "tiers"}},
		{"version", nil},
	} {
		t.Run(tc.verb, func(t *testing.T) {
			t.Parallel()
			for _, args := range [][]string{{tc.verb, "--help"}, {tc.verb, "-h"}, append(append([]string{}, tc.probe...), "--help")} {
				if len(args) == 1 {
					continue
				}
				var stdout, stderr syncBuffer
				err := run(context.Background(), args, nil, &stdout, &stderr)
				if code := exitCode(err, &stderr); code != 0 {
					t.Errorf("longtail %s: exit %d (%v), want 0", strings.Join(args, " "), code, err)
				}
				if !strings.Contains(stdout.String(), "longtail "+tc.verb) {
					t.Errorf("longtail %s printed %q, want the verb's usage", strings.Join(args, " "), stdout.String())
				}
			}
			if tc.probe == nil {
				return
			}
			var help syncBuffer
			if err := run(context.Background(), []string{tc.verb, "--help"}, nil, &help, &syncBuffer{}); err != nil {
				t.Fatal(err)
			}
			var stderr syncBuffer
			err := run(context.Background(), append(append([]string{}, tc.probe...), "--no-such-flag"), nil, &syncBuffer{}, &stderr)
			if code := exitCode(err, &syncBuffer{}); code != 2 {
				t.Errorf("an unknown flag: exit %d, want 2", code)
			}
			flags := flagLineRE.FindAllStringSubmatch(stderr.String(), -1)
			if len(flags) == 0 {
				t.Fatalf("no flags listed for an unknown flag:\n%s", stderr.String())
			}
			for _, f := range flags {
				for name, text := range map[string]string{"longtail " + tc.verb + " --help": help.String(), "longtail --help": all.String()} {
					if !strings.Contains(text, "--"+f[1]) {
						t.Errorf("%s does not list --%s:\n%s", name, f[1], text)
					}
				}
			}
		})
	}
}
