package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/longtailhq/longtail/config"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/reptoken"
	"github.com/longtailhq/longtail/scoring"
)

// repTools opens what the reps and handoff commands work on, on clock now; flags, when
// not nil, registers the subcommand's own flags.
func repTools(ctx context.Context, now func() time.Time, name string, args, environ []string, stderr io.Writer, flags func(*flag.FlagSet)) (*flag.FlagSet, *config.Config, *store, *directory.Store, *repqueue.Queue, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	if flags != nil {
		flags(fs)
	}
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return nil, nil, nil, nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg, err := loadConfig(*cfgPath, environ)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	st, err := openStore(ctx, cfg, newLogger(cfg.Log, stderr), false)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	fail := func(err error) (*flag.FlagSet, *config.Config, *store, *directory.Store, *repqueue.Queue, error) {
		st.Close()
		return nil, nil, nil, nil, nil, err
	}
	dir, err := directory.New(st.rdb, directory.Config{UnassignedPartnerID: cfg.Directory.UnassignedPartner, Clock: now})
	if err != nil {
		return fail(err)
	}
	engine, err := scoring.NewEngine(st.rdb, cfg.Scoring, now)
	if err != nil {
		return fail(err)
	}
	q, err := repqueue.New(st.rdb, dir, engine, cfg.Handoff.Config, now)
	if err != nil {
		return fail(err)
	}
	return fs, cfg, st, dir, q, nil
}

// runReps manages rep API tokens: `reps token ID` issues one (printed
// once), `reps link ID` issues one and prints a one-time sign-in link
// made from it, `reps tokens ID` lists them, `reps revoke ID TOKEN_ID`
// revokes (which also kills the links made from that token).
func runReps(ctx context.Context, now func() time.Time, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: reps needs a subcommand: token ID, tokens ID or revoke ID TOKEN_ID", errUsage)
	}
	sub := args[0]
	var ttl *time.Duration
	var flags func(*flag.FlagSet)
	if sub == "link" {
		flags = func(fs *flag.FlagSet) {
			ttl = fs.Duration("ttl", 24*time.Hour, "how long the link works (once), at most "+reptoken.MaxLinkTTL.String())
		}
	}
	fs, cfg, st, dir, _, err := repTools(ctx, now, "reps "+sub, args[1:], environ, stderr, flags)
	if err != nil {
		return err
	}
	defer st.Close()
	tokens, err := reptoken.New(st.rdb, dir, time.Now)
	if err != nil {
		return err
	}
	switch {
	case sub == "token" && fs.NArg() == 1:
		if _, err := dir.GetRep(ctx, fs.Arg(0)); err != nil {
			return err
		}
		tok, err := tokens.Issue(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
		fmt.Fprintln(stderr, "This token is shown once; longtail keeps only its hash.")
		return nil
	case sub == "link" && fs.NArg() == 1:
		if *ttl <= 0 || *ttl > reptoken.MaxLinkTTL {
			return fmt.Errorf("%w: --ttl %s is not above 0 and at most %s", errUsage, *ttl, reptoken.MaxLinkTTL)
		}
		tok, err := tokens.Issue(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		code, err := tokens.IssueLink(ctx, tok, *ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s/ui/login/link?code=%s\n", linkBase(cfg), code)
		fmt.Fprintf(stderr, "This link signs in as %s once, within %s; revoking its token (reps tokens %s) withdraws it.\n", fs.Arg(0), *ttl, fs.Arg(0))
		return nil
	case sub == "tokens" && fs.NArg() == 1:
		toks, err := tokens.List(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		for _, t := range toks {
			state := "active"
			if t.RevokedAt != nil {
				state = "revoked " + t.RevokedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%s  created %s  %s\n", t.ID, t.CreatedAt.UTC().Format(time.RFC3339), state)
		}
		return nil
	case sub == "revoke" && fs.NArg() == 2:
		if err := tokens.Revoke(ctx, fs.Arg(0), fs.Arg(1)); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "revoked")
		return nil
	default:
		return fmt.Errorf("%w: reps token ID | reps link ID [--ttl D] | reps tokens ID | reps revoke ID TOKEN_ID", errUsage)
	}
}

// runHandoff runs the SLA sweep now (`handoff sweep`) or prints the KPIs
// (`handoff stats [REP_ID]`).
func runHandoff(ctx context.Context, now func() time.Time, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: handoff needs a subcommand: sweep, or stats [REP_ID]", errUsage)
	}
	sub := args[0]
	asJSON := false
	fs, _, st, _, q, err := repTools(ctx, now, "handoff "+sub, args[1:], environ, stderr, func(fs *flag.FlagSet) {
		if sub == "stats" {
			fs.BoolVar(&asJSON, "json", false, "print JSON (durations also in seconds, as GET /v1/handoffs/stats)")
		}
	})
	if err != nil {
		return err
	}
	defer st.Close()
	switch {
	case sub == "sweep" && fs.NArg() == 0:
		res, err := q.SweepSLA(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "reassigned %d, escalated %d, routed %d\n", res.Reassigned, res.Escalated, res.Routed)
		return nil
	case sub == "stats" && fs.NArg() <= 1:
		s, err := q.Stats(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(statsJSON{Stats: s, MedianTimeToClaimSeconds: s.MedianTimeToClaim.Seconds(), P90TimeToClaimSeconds: s.P90TimeToClaim.Seconds()})
		}
		printStats(stdout, s)
		return nil
	default:
		return fmt.Errorf("%w: handoff sweep | handoff stats [REP_ID]", errUsage)
	}
}

// statsJSON is the shape of GET /v1/handoffs/stats: Go durations marshal
// as nanoseconds, so the claim times are given in seconds too.
type statsJSON struct {
	*repqueue.Stats
	MedianTimeToClaimSeconds float64 `json:"median_time_to_claim_seconds"`
	P90TimeToClaimSeconds    float64 `json:"p90_time_to_claim_seconds"`
}

// printStats writes the KPIs for a person: durations as 1h12m, never
// nanoseconds.
func printStats(w io.Writer, s *repqueue.Stats) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "handoffs\t%d\n", s.Handoffs)
	fmt.Fprintf(tw, "unrouted\t%d\n", s.Unrouted)
	fmt.Fprintf(tw, "refused (unassigned)\t%d\n", s.RefusedUnassigned)
	fmt.Fprintf(tw, "claimed\t%d\n", s.Claimed)
	fmt.Fprintf(tw, "median time to claim\t%s\n", humanDuration(s.MedianTimeToClaim))
	fmt.Fprintf(tw, "p90 time to claim\t%s\n", humanDuration(s.P90TimeToClaim))
	fmt.Fprintf(tw, "SLA breaches\t%d\n", s.SLABreaches)
	fmt.Fprintf(tw, "escalations\t%d\n", s.Escalations)
	fmt.Fprintf(tw, "conversion rate\t%.1f%%\n", 100*s.ConversionRate)
	kinds := make([]string, 0, len(s.Outcomes))
	for k := range s.Outcomes {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	outcomes := make([]string, len(kinds))
	for i, k := range kinds {
		outcomes[i] = fmt.Sprintf("%s %d", k, s.Outcomes[k])
	}
	fmt.Fprintf(tw, "outcomes\t%s\n", dash(strings.Join(outcomes, ", ")))
	tw.Flush()
}

// humanDuration rounds d to what a person reads: to the minute from an
// hour up (1h12m), to the second below (4m5s), to the millisecond under a
// second.
func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour:
		d = d.Round(time.Minute)
	case d >= time.Second:
		d = d.Round(time.Second)
	default:
		d = d.Round(time.Millisecond)
	}
	return config.FormatDuration(d)
}

// linkBase is where a printed sign-in link points: http.public_url, else
// http.listen as serve prints it (clientURL).
func linkBase(cfg *config.Config) string {
	if cfg.HTTP.PublicURL != "" {
		return strings.TrimRight(cfg.HTTP.PublicURL, "/")
	}
	addr, err := net.ResolveTCPAddr("tcp", cfg.HTTP.Listen)
	if err != nil {
		return "http://localhost"
	}
	return clientURL(addr)
}
