package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/program"
)

// TypeProgramStage recomputes one partner's lifecycle stage after its
// facts changed (an ingested batch logged a deal, a purchase or an
// engagement of it), records a change in its timeline of stages and fires
// nurture's {stage: X} trigger for the stage it entered.
const TypeProgramStage = "program:stage"

// ProgramStagePayload is the wire form of a stage task.
type ProgramStagePayload struct {
	PartnerID string `json:"partner_id"`
}

// ProgramStages gathers facts and records stage changes (*store.Store).
type ProgramStages interface {
	Facts(ctx context.Context, partnerID string, now time.Time) (program.Facts, error)
	AllFacts(ctx context.Context, now time.Time) ([]program.Facts, error)
	RecordStage(ctx context.Context, f program.Facts, c program.StageChange) (bool, error)
}

// NewProgramStageTask builds the stage task of a partner whose facts the
// batch identified by batch changed. The id is the partner and the batch:
// a retried ingest task queues it once, and every batch gets its own
// recomputation (one queued per partner would be refused while a run is
// active, and miss the batch that came during it).
func NewProgramStageTask(pid, batch string) *asynq.Task {
	h := sha256.Sum256([]byte(pid + "\x00" + batch))
	return asynq.NewTask(TypeProgramStage, marshal(TypeProgramStage, ProgramStagePayload{PartnerID: pid}),
		asynq.TaskID(TypeProgramStage+":"+hex.EncodeToString(h[:16])), asynq.Queue(QueueProgram), asynq.MaxRetry(10))
}

// stageRecorder records stage changes and fires their triggers; the one
// rule shared by the per-partner and the nightly task.
type stageRecorder struct {
	stages   ProgramStages
	cfg      program.Config
	clock    func() time.Time
	triggers *NurtureTriggerQueue
}

// record records the change program.NextStage finds in f, if any, and
// fires {stage: X} when this call recorded it: of two runs that see the
// same change (the nightly run and a fact change), the one whose
// compare-and-set wins fires it, so contacts enrol once. A crash between
// the record and the queueing loses the trigger (the retry finds the
// stage recorded), as a ranking run loses its segment triggers.
func (r stageRecorder) record(ctx context.Context, f program.Facts, now time.Time) (bool, error) {
	c, ok := program.NextStage(f, r.cfg, now)
	if !ok {
		return false, nil
	}
	won, err := r.stages.RecordStage(ctx, f, c)
	if err != nil || !won || !c.Fires() {
		return won, err
	}
	return true, r.triggers.StageEntered(ctx, f.PartnerID, string(c.To), c.At)
}

func handleProgramStage(r stageRecorder) asynq.Handler {
	return Handle(func(ctx context.Context, p ProgramStagePayload) error {
		if p.PartnerID == "" {
			return fmt.Errorf("%s: no partner: %w", TypeProgramStage, ErrPermanent)
		}
		now := r.clock()
		f, err := r.stages.Facts(ctx, p.PartnerID, now)
		if errors.Is(err, directory.ErrNotFound) {
			return nil // not in the directory (yet): nothing to judge
		}
		if err != nil {
			return err
		}
		_, err = r.record(ctx, f, now)
		return err
	})
}

// queueStages queues the stage task of each partner of changed, for the
// batch identified by batch (a digest of its event ids).
func queueStages(ctx context.Context, tasks *asynq.Client, changed map[string]bool, batch string) error {
	pids := slices.Collect(maps.Keys(changed))
	return enqueueMany(ctx, tasks, len(pids), func(i int) (*asynq.Task, string) {
		return NewProgramStageTask(pids[i], batch), "the stage of " + pids[i]
	})
}

// ProgramStageQueue queues program:stage for partners whose directory
// record changed; the zero value is unusable.
type ProgramStageQueue struct{ tasks *asynq.Client }

// NewProgramStageQueue queues on c.
func NewProgramStageQueue(c *asynq.Client) *ProgramStageQueue { return &ProgramStageQueue{tasks: c} }

// PartnersChanged queues the stage task of each partner whose joined_at
// or left_at a directory write changed (PUT /v1/partners/{id}, a partners
// CSV import), created partners included: program.Stage reads nothing
// else of the record (not the tier), so other changes queue nothing, and
// an unchanged write reports no change at all. A created partner gets its
// baseline stage now rather than at the nightly run, so that a change the
// same day (left_at set) is a change that fires {stage: X}.
//
// The task id is the partner and its new record (updated_at and dates):
// the same write reported twice (a retried import batch) queues once, and
// each later change gets its own recomputation.
func (q *ProgramStageQueue) PartnersChanged(ctx context.Context, changes ...directory.PartnerChange) error {
	var due []directory.Partner
	for _, c := range changes {
		if c.ProgramDatesChanged() {
			due = append(due, c.After)
		}
	}
	return enqueueMany(ctx, q.tasks, len(due), func(i int) (*asynq.Task, string) {
		p := due[i]
		rec := fmt.Sprintf("directory:%d:%s:%s", p.UpdatedAt.UnixMilli(), p.JoinedAt, p.LeftAt)
		return NewProgramStageTask(p.ID, rec), "the stage of " + p.ID
	})
}
