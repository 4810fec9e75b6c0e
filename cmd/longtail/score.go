package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/config"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/scoring"
)

func runScore(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: score needs a subcommand: explain PARTNER_ID, dump CONTACT_ID, or rfm", errUsage)
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("score "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	inline := fs.Bool("inline", false, "rfm: compute in this process instead of queueing the task for a worker")
	if err := fs.Parse(reorder(fs, rest)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg, log, st, err := openTool(ctx, *cfgPath, environ, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	engine, err := scoring.NewEngine(st.rdb, cfg.Scoring, time.Now)
	if err != nil {
		return err
	}
	dir, err := directory.New(st.rdb, directory.Config{UnassignedPartnerID: cfg.Directory.UnassignedPartner})
	if err != nil {
		return err
	}
	switch sub {
	case "explain":
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: score explain needs one PARTNER_ID", errUsage)
		}
		p, err := dir.GetPartner(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		ex, err := engine.Explain(ctx, p.ID, nil)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(ex)
		}
		printExplanation(stdout, p, ex)
		return nil
	case "dump":
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: score dump needs one CONTACT_ID", errUsage)
		}
		c, err := dir.GetContact(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		d, err := engine.Dump(ctx, c.PartnerID, c.ID)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(d)
		}
		printDump(stdout, d)
		return nil
	case "rfm":
		if fs.NArg() != 0 {
			return fmt.Errorf("%w: score rfm takes no arguments", errUsage)
		}
		if *inline {
			a := &app{dir: dir, engine: engine, clock: time.Now, log: log}
			return rfmRunner{a}.RunRFM(ctx)
		}
		client := asynq.NewClientFromRedisClient(st.rdb)
		defer client.Close()
		if err := jobs.EnqueueRFM(ctx, client, time.Now()); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "RFM ranking queued; a worker (longtail serve) runs it")
		return nil
	default:
		return fmt.Errorf("%w: unknown score subcommand %q", errUsage, sub)
	}
}

func printExplanation(w io.Writer, p directory.Partner, ex *scoring.Explanation) {
	fmt.Fprintf(w, "%s (%s) score %.2f at %s\n", p.Name, p.ID, ex.Score, ex.At.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "rubric: half-life %s, threshold %g\n\n", config.FormatDuration(ex.Rubric.HalfLife), ex.Rubric.Threshold)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTACT\tTYPE\tTOPIC\tCOUNT\tPOINTS\tAFTER DECAY\tNOT SCORED")
	for _, c := range ex.Contacts {
		for _, it := range c.Items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.2f\t%.2f\t%s\n", c.ContactID, it.Type, dash(it.Topic), it.Count, it.Points, it.Decayed, filtered(it.Filtered))
		}
		note := ""
		if c.Suppressed != "" {
			note = " (suppressed: " + c.Suppressed + ")"
		}
		fmt.Fprintf(tw, "%s\ttotal\t\t\t\t%.2f\t%s\n", c.ContactID, c.Score, note)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func filtered(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d %s", m[k], k)
	}
	return s
}

// printDump prints what scoring keeps for a contact for people: the
// header, each record decoded, the explain aggregates summed and the
// timeline.
func printDump(w io.Writer, d *scoring.ContactDump) {
	at := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }
	fmt.Fprintf(w, "contact %s of partner %s: %s, %d bytes, read at %s\n", d.ContactID, d.PartnerID, d.Key, d.Bytes, at(d.At))
	if h := d.Header; h == nil {
		fmt.Fprintln(w, "nothing stored")
	} else {
		sup := ""
		if h.Suppressed != "" {
			sup = ", suppressed: " + h.Suppressed
		}
		fmt.Fprintf(w, "score %.2f (N %g), fit %g%s\n", h.Score, h.N, h.Fit, sup)
		fmt.Fprintf(w, "compaction due %s or past %d bytes; %d so far; write token %s\n",
			at(h.NextCompaction), h.CompactPastBytes, h.Compactions, h.WriteToken)
	}
	if d.Malformed != "" {
		fmt.Fprintf(w, "MALFORMED: %s (records below stop there)\n", d.Malformed)
	}
	if len(d.Records) > 0 {
		fmt.Fprintf(w, "\nrecords (%d):\n", len(d.Records))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "OFFSET\tKIND\tOF\tEXPIRES\tVALUE")
		for _, r := range d.Records {
			of, exp, val := r.Digest, "-", ""
			switch {
			case r.EventID != "":
				of = r.EventID
			case r.MessageID != "":
				of = "message " + r.MessageID
			case r.Kind == "daily_cap":
				of = string(r.Type) + " " + r.Day
				val = fmt.Sprintf("%d counted", r.Count)
			case r.Explain != nil:
				of = string(r.Explain.Type) + " " + dash(r.Explain.Topic)
				val = fmt.Sprintf("+%d scored, +%.2f points (%.2f after decay)", r.Explain.Count, r.Explain.Points, r.Explain.Decayed)
				if f := filtered(r.Explain.Filtered); f != "" {
					val += ", not scored: " + f
				}
			}
			if r.DeliveredAt != nil {
				val = "delivered " + r.DeliveredAt.UTC().Format(time.RFC3339)
			}
			if r.Expires != nil {
				exp = at(*r.Expires)
				if !r.Live {
					exp += " (not live)"
				}
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.Offset, r.Kind, of, exp, val)
		}
		tw.Flush()
	}
	if len(d.Explain) > 0 {
		fmt.Fprintln(w, "\nexplain aggregates (summed):")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TYPE\tTOPIC\tCOUNT\tPOINTS\tAFTER DECAY\tNOT SCORED")
		for _, it := range d.Explain {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.2f\t%s\n", it.Type, dash(it.Topic), it.Count, it.Points, it.Decayed, filtered(it.Filtered))
		}
		tw.Flush()
	}
	if len(d.Timeline) > 0 {
		fmt.Fprintf(w, "\ntimeline (%d items, newest arrival first):\n", len(d.Timeline))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "OCCURRED\tTYPE\tTOPIC\tPOINTS\tNOT SCORED\tID")
		for _, it := range d.Timeline {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%g\t%s\t%s\n", it.OccurredAt.UTC().Format(time.RFC3339), it.Type, dash(it.Topic), it.Points, it.Filtered, it.ID)
		}
		tw.Flush()
	}
}
