package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/scoring"
)

// runSimulate replays an events file against the scoring rules in memory,
// at one or more thresholds, and reports the hand-offs per week: how many
// calls the reps would get, and which partners. Nothing is written.
func runSimulate(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	eventsPath := fs.String("events", "", "JSON array or NDJSON file of canonical events (required)")
	thresholds := fs.String("threshold", "", "threshold, or comma-separated thresholds to compare (default scoring.threshold)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *eventsPath == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: simulate needs --events FILE", errUsage)
	}
	cfg, err := loadConfig(*cfgPath, environ)
	if err != nil {
		return err
	}
	levels := []float64{cfg.Scoring.Threshold}
	if *thresholds != "" {
		levels = levels[:0]
		for _, s := range strings.Split(*thresholds, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || v <= 0 {
				return fmt.Errorf("%w: --threshold: %q is not a positive number", errUsage, s)
			}
			levels = append(levels, v)
		}
	}
	evs, bad, err := readEventsFile(*eventsPath)
	if err != nil {
		return err
	}
	for _, b := range bad {
		fmt.Fprintln(stderr, b)
	}

	// Attribution: the events' own partner_id, else the directory when a
	// Redis is configured (read only), else the event cannot roll up.
	var dir *directory.Store
	capacity := 0
	if cfg.Redis.URL != "" {
		st, err := openStore(ctx, cfg, newLogger(cfg.Log, stderr), false)
		if err != nil {
			return err
		}
		defer st.Close()
		if dir, err = directory.New(st.rdb, directory.Config{UnassignedPartnerID: cfg.Directory.UnassignedPartner}); err != nil {
			return err
		}
		reps, err := dir.ListReps(ctx)
		if err != nil {
			return err
		}
		for _, r := range reps {
			if r.Active {
				capacity += r.DailyCapacity * 5
			}
		}
	}
	targets, unattributed, err := attribute(ctx, evs, dir, cfg.Directory.UnassignedPartner)
	if err != nil {
		return err
	}

	report := simulation{Events: len(evs), Rejected: len(bad), Unattributed: unattributed, WeeklyCapacity: capacity}
	for _, level := range levels {
		sc := cfg.Scoring
		sc.Threshold = level
		run, err := replay(sc, evs, targets)
		if err != nil {
			return err
		}
		report.Runs = append(report.Runs, run)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	report.print(stdout)
	return nil
}

type simulation struct {
	Events         int      `json:"events"`
	Rejected       int      `json:"rejected"`
	Unattributed   int      `json:"unattributed"`
	WeeklyCapacity int      `json:"weekly_capacity,omitempty"`
	Runs           []simRun `json:"runs"`
}

type simRun struct {
	Threshold float64        `json:"threshold"`
	Handoffs  []simHandoff   `json:"handoffs"`
	PerWeek   map[string]int `json:"per_week"`
}

type simHandoff struct {
	PartnerID string    `json:"partner_id"`
	At        time.Time `json:"at"`
	Score     float64   `json:"score"`
}

// replay applies events in time order, each at its own time, and records
// every crossing. Crossings are acknowledged at once, as the hand-off job
// would; re-arming follows the rules (decay below the re-arm fraction).
func replay(cfg scoring.Config, evs []event.Event, targets []scoring.Target) (simRun, error) {
	m, err := scoring.NewModel(cfg)
	if err != nil {
		return simRun{}, err
	}
	run := simRun{Threshold: cfg.Threshold, PerWeek: map[string]int{}, Handoffs: []simHandoff{}}
	for i, ev := range evs {
		t := targets[i]
		if t.ContactID == "" {
			continue
		}
		res := m.Apply(t, []event.Event{ev}, ev.OccurredAt)
		if c := res.Crossing; c != nil && c.New {
			y, w := c.CrossedAt.ISOWeek()
			run.PerWeek[fmt.Sprintf("%04d-W%02d", y, w)]++
			run.Handoffs = append(run.Handoffs, simHandoff{PartnerID: c.PartnerID, At: c.CrossedAt, Score: m.PartnerScore(c.PartnerID, ev.OccurredAt)})
		}
		if c := res.Crossing; c != nil {
			m.AckCrossing(c.PartnerID, c.Seq)
		}
	}
	return run, nil
}

// attribute finds each event's contact and partner.
func attribute(ctx context.Context, evs []event.Event, dir *directory.Store, unassigned string) ([]scoring.Target, int, error) {
	targets := make([]scoring.Target, len(evs))
	partners := map[string]directory.Partner{}
	unattributed := 0
	for i, ev := range evs {
		t := scoring.Target{PartnerID: ev.PartnerID, ContactID: ev.ContactID}
		if t.ContactID == "" {
			t.ContactID = ev.Email
		}
		if dir != nil && t.PartnerID == "" {
			c, err := dir.LookupContact(ctx, firstNonEmpty(ev.ContactID, ev.Email))
			switch {
			case err == nil:
				t.PartnerID, t.ContactID, t.Persona = c.PartnerID, c.ID, c.Persona
			case !errors.Is(err, directory.ErrNotFound):
				return nil, 0, err
			}
		}
		if t.PartnerID == "" || t.PartnerID == unassigned {
			unattributed++
			targets[i] = scoring.Target{}
			continue
		}
		if dir != nil {
			p, ok := partners[t.PartnerID]
			if !ok {
				p, _ = dir.GetPartner(ctx, t.PartnerID)
				partners[t.PartnerID] = p
			}
			t.PartnerType, t.Tier = p.Type, p.Tier
		}
		targets[i] = t
	}
	return targets, unattributed, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// readEventsFile reads a JSON array or NDJSON of events, sorted by time;
// invalid items are skipped and described (with their line for NDJSON).
// An event without occurred_at happened now, as POST /v1/events reads it.
func readEventsFile(path string) ([]event.Event, []string, error) {
	now := time.Now().UTC()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var evs []event.Event
	var bad []string
	add := func(where string, raw []byte) {
		var ev event.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			bad = append(bad, fmt.Sprintf("%s:%s: %v", path, where, err))
			return
		}
		if ev.OccurredAt.IsZero() {
			ev.OccurredAt = now
		}
		if err := ev.Validate(); err != nil {
			bad = append(bad, fmt.Sprintf("%s:%s: %v", path, where, err))
			return
		}
		evs = append(evs, ev)
	}
	items, err := event.SplitBatch(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, item := range items {
		where := "item " + strconv.Itoa(i)
		if item.Line > 0 {
			where = strconv.Itoa(item.Line)
		}
		add(where, item.JSON)
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].OccurredAt.Before(evs[j].OccurredAt) })
	return evs, bad, nil
}

func (s simulation) print(w io.Writer) {
	fmt.Fprintf(w, "%d events replayed (%d rejected, %d without a partner)\n", s.Events, s.Rejected, s.Unattributed)
	if s.WeeklyCapacity > 0 {
		fmt.Fprintf(w, "rep capacity: %d calls a week (active reps' daily capacity × 5)\n", s.WeeklyCapacity)
	}
	weeks := map[string]bool{}
	for _, r := range s.Runs {
		for wk := range r.PerWeek {
			weeks[wk] = true
		}
	}
	order := make([]string, 0, len(weeks))
	for wk := range weeks {
		order = append(order, wk)
	}
	sort.Strings(order)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "week\t")
	for _, r := range s.Runs {
		fmt.Fprintf(tw, "threshold %g\t", r.Threshold)
	}
	fmt.Fprintln(tw)
	for _, wk := range order {
		fmt.Fprintf(tw, "%s\t", wk)
		for _, r := range s.Runs {
			fmt.Fprintf(tw, "%d\t", r.PerWeek[wk])
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "total\t")
	for _, r := range s.Runs {
		fmt.Fprintf(tw, "%d\t", len(r.Handoffs))
	}
	fmt.Fprintln(tw)
	tw.Flush()
	for _, r := range s.Runs {
		fmt.Fprintf(w, "\nthreshold %g: %d hand-offs\n", r.Threshold, len(r.Handoffs))
		for _, h := range r.Handoffs {
			fmt.Fprintf(w, "  %s  %s  score %.1f\n", h.At.UTC().Format("2006-01-02 15:04"), h.PartnerID, h.Score)
		}
	}
}
