package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/program/store"
)

// ProgramRecorder keeps the partners' results log and months with
// engagement for the program view (*store.Store).
type ProgramRecorder interface {
	Record(ctx context.Context, results []store.Result, engaged []store.Engagement) error
}

// recordProgram logs what a scored batch means to the program view: each
// deal.registered, deal.won and purchase in the partner's results log,
// and each event scoring credited points to as an engagement of its
// month. A nil recorder records nothing.
//
// Results are logged whatever scoring's verdict, by event id (the log's
// own dedup, HSETNX): when this write fails and the task is retried,
// scoring judges every event of the batch a duplicate, and a log that
// trusted that verdict would lose the deal for good. Engagements do use
// the verdict (a duplicate scores no points), and a retry may miss one:
// it only marks a month, which the partner's next engagement marks again.
//
// With d.Stages set, each partner whose facts changed gets a program:stage
// task, queued after the record so that it reads them.
func recordProgram(ctx context.Context, d ProgramDeps, tasks *asynq.Client, res *ingest.Result) error {
	rec := d.Recorder
	if rec == nil || res == nil {
		return nil
	}
	var results []store.Result
	var engaged []store.Engagement
	changed := map[string]bool{}
	h := sha256.New()
	for _, c := range res.Contacts {
		for _, ev := range c.Events {
			h.Write([]byte(ev.ID))
			h.Write([]byte{0})
		}
		scored := map[string]bool{}
		if c.Scored != nil {
			for _, er := range c.Scored.Events {
				if !er.Duplicate && er.Points > 0 {
					scored[er.ID] = true
				}
			}
		}
		for _, ev := range c.Events {
			if ev.Type.TakesOrigin() {
				changed[c.PartnerID] = true
				results = append(results, store.Result{
					PartnerID: c.PartnerID, EventID: ev.ID, Type: ev.Type, At: ev.OccurredAt, Value: ev.Value, Origin: ev.Origin,
				})
			}
			if scored[ev.ID] {
				changed[c.PartnerID] = true
				engaged = append(engaged, store.Engagement{PartnerID: c.PartnerID, At: ev.OccurredAt})
			}
		}
	}
	if err := rec.Record(ctx, results, engaged); err != nil {
		return fmt.Errorf("%s: %w", TypeIngestEvents, err)
	}
	if d.Stages == nil {
		return nil
	}
	if err := queueStages(ctx, tasks, changed, hex.EncodeToString(h.Sum(nil))); err != nil {
		return fmt.Errorf("%s: %w", TypeIngestEvents, err)
	}
	return nil
}
