package main

import (
	"flag"
	"fmt"
	"io"
	"testing"
)

func TestReorder(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want []string }{
		{[]string{"contacts", "f.csv", "--config", "x.yaml"}, []string{"--config", "x.yaml", "--", "contacts", "f.csv"}},
		{[]string{"explain", "--json", "acme"}, []string{"--json", "--", "explain", "acme"}},
		{[]string{"rfm", "--inline", "--config", "x.yaml"}, []string{"--inline", "--config", "x.yaml", "--", "rfm"}},
		{[]string{"a", "--config=x.yaml", "--json=false", "b"}, []string{"--config=x.yaml", "--json=false", "--", "a", "b"}},
		{[]string{"a", "--", "--json"}, []string{"--", "a", "--json"}},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.String("config", "", "")
		asJSON := fs.Bool("json", false, "")
		fs.Bool("inline", false, "")
		got := reorder(fs, tc.in)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("reorder(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if err := fs.Parse(got); err != nil {
			t.Errorf("parse %q: %v", got, err)
		}
		if want := tc.in[len(tc.in)-1] == "--json"; fs.NArg() > 0 && want && *asJSON {
			t.Errorf("%q: a positional after -- was read as a flag", tc.in)
		}
	}
}
