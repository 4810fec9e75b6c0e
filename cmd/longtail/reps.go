package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/reptoken"
	"github.com/longtailhq/longtail/scoring"
)

// repTools opens what the reps and handoff commands work on.
func repTools(ctx context.Context, name string, args, environ []string, stderr io.Writer) (*flag.FlagSet, *store, *directory.Store, *repqueue.Queue, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg, err := loadConfig(*cfgPath, environ)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	st, err := openStore(ctx, cfg, newLogger(cfg.Log, stderr), false)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	fail := func(err error) (*flag.FlagSet, *store, *directory.Store, *repqueue.Queue, error) {
		st.Close()
		return nil, nil, nil, nil, err
	}
	dir, err := directory.New(st.rdb, directory.Config{UnassignedPartnerID: cfg.Directory.UnassignedPartner})
	if err != nil {
		return fail(err)
	}
	engine, err := scoring.NewEngine(st.rdb, cfg.Scoring, time.Now)
	if err != nil {
		return fail(err)
	}
	q, err := repqueue.New(st.rdb, dir, engine, cfg.Handoff.Config, time.Now)
	if err != nil {
		return fail(err)
	}
	return fs, st, dir, q, nil
}

// runReps manages rep API tokens: `reps token ID` issues one (printed
// once), `reps tokens ID` lists them, `reps revoke ID TOKEN_ID` revokes.
func runReps(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: reps needs a subcommand: token ID, tokens ID or revoke ID TOKEN_ID", errUsage)
	}
	sub := args[0]
	fs, st, dir, _, err := repTools(ctx, "reps "+sub, args[1:], environ, stderr)
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
		return fmt.Errorf("%w: reps token ID | reps tokens ID | reps revoke ID TOKEN_ID", errUsage)
	}
}

// runHandoff runs the SLA sweep now (`handoff sweep`) or prints the KPIs
// (`handoff stats [REP_ID]`).
func runHandoff(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: handoff needs a subcommand: sweep, or stats [REP_ID]", errUsage)
	}
	sub := args[0]
	fs, st, _, q, err := repTools(ctx, "handoff "+sub, args[1:], environ, stderr)
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
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	default:
		return fmt.Errorf("%w: handoff sweep | handoff stats [REP_ID]", errUsage)
	}
}
