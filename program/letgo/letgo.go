// Package letgo applies the partner program's "let go" recommendation:
// one last re-engagement flow for every contact of a partner at risk,
// then, when it ends unanswered, stop mailing them (the program_exit
// suppression, read by nurture's gate), reversibly (keep). The rules are
// package program's; the state is program/store's, moved by
// compare-and-set; the flow runs on the nurture engine. It imports neither
// asynq nor net/http: it returns the nurture steps to schedule.
package letgo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/program/store"
)

// DefaultFlow is the shipped last re-engagement flow (flows/program-last-call.yaml).
const DefaultFlow = "program-last-call"

// ReasonKept ends a partner's running last-call enrollments on keep.
const ReasonKept = "kept"

// ErrNotAtRisk: let go applies to a partner on the at-risk list only.
var ErrNotAtRisk = errors.New("letgo: the partner is not at risk")

// Store is the program's side (*store.Store).
type Store interface {
	Facts(ctx context.Context, partnerID string, now time.Time) (program.Facts, error)
	LetGoState(ctx context.Context, pid string) (store.LetGo, error)
	MoveLetGo(ctx context.Context, pid string, cur store.LetGo, state string, at time.Time) (bool, error)
}

// Nurture is the engine's side (*nurture.Engine).
type Nurture interface {
	EnrollPartner(ctx context.Context, flowID, pid string) ([]nurture.Next, error)
	PartnerEnrollments(ctx context.Context, flowID, pid string) ([]*nurture.Enrollment, error)
	EndPartnerFlow(ctx context.Context, flowID, pid, reason string) error
}

// Config configures a Service.
type Config struct {
	// Flow is the last re-engagement flow's id. If empty, DefaultFlow.
	Flow string
	// Program is the program section (productive_within, exit_after...).
	Program program.Config
	// Clock is the time. If nil, time.Now.
	Clock func() time.Time
}

// Service applies let go and keep.
type Service struct {
	cfg     Config
	store   Store
	nurture Nurture
}

// New checks its collaborators and fills the defaults.
func New(cfg Config, st Store, nu Nurture) (*Service, error) {
	if st == nil || nu == nil {
		return nil, errors.New("letgo: the program store and the nurture engine are required")
	}
	if cfg.Flow == "" {
		cfg.Flow = DefaultFlow
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Service{cfg: cfg, store: st, nurture: nu}, nil
}

// Flow is the last re-engagement flow's id.
func (s *Service) Flow() string { return s.cfg.Flow }

// Result is the partner's let-go state after an action, and whether the
// action changed it (false: it was already so).
type Result struct {
	PartnerID string `json:"partner_id"`
	State     string `json:"state"`
	Changed   bool   `json:"changed"`
}

// maxMoves bounds the compare-and-set rounds of one action: more than one
// is needed only when another action or a settlement moved the state.
const maxMoves = 3

// LetGo applies the recommendation to a partner at risk: its contacts
// enter the last re-engagement flow (each once; nothing is sent twice),
// and its state becomes reengaging. Repeating it changes nothing, unless
// the flow has run program.exit_after and the recommendation is now to
// exit: then the partner is exited at once. Unknown partner:
// store.ErrNotFound; not at risk: ErrNotAtRisk.
func (s *Service) LetGo(ctx context.Context, pid string) (Result, []nurture.Next, error) {
	now := s.cfg.Clock()
	f, err := s.store.Facts(ctx, pid, now)
	if err != nil {
		return Result{}, nil, err
	}
	risk, ok := program.AtRisk(f, s.cfg.Program, now)
	if !ok {
		return Result{}, nil, fmt.Errorf("%w: %s", ErrNotAtRisk, pid)
	}
	var next []nurture.Next
	for range maxMoves {
		cur, err := s.store.LetGoState(ctx, pid)
		if err != nil {
			return Result{}, next, err
		}
		switch {
		case cur.State == program.LetGoExited:
			return Result{PartnerID: pid, State: cur.State}, next, nil
		case cur.State == program.LetGoReengaging && risk.Action != program.ActionExit:
			return Result{PartnerID: pid, State: cur.State}, next, nil
		case cur.State == program.LetGoReengaging:
			moved, err := s.store.MoveLetGo(ctx, pid, cur, program.LetGoExited, now)
			if err != nil || moved {
				return Result{PartnerID: pid, State: program.LetGoExited, Changed: moved}, next, err
			}
			continue
		}
		// Enrol first: a crash before the move leaves the state as it was,
		// and a repeat enrols nobody twice.
		if next, err = s.nurture.EnrollPartner(ctx, s.cfg.Flow, pid); err != nil {
			return Result{}, next, err
		}
		moved, err := s.store.MoveLetGo(ctx, pid, cur, program.LetGoReengaging, now)
		if err != nil {
			return Result{}, next, err
		}
		if !moved {
			continue
		}
		// Nobody to mail, or a flow that already ended for everyone (let go
		// again after a keep): settle now rather than wait for an end that
		// has come.
		if err := s.Settle(ctx, pid); err != nil {
			return Result{}, next, err
		}
		st, err := s.store.LetGoState(ctx, pid)
		return Result{PartnerID: pid, State: st.State, Changed: true}, next, err
	}
	return Result{}, next, fmt.Errorf("letgo: the state of %s moved under %d attempts", pid, maxMoves)
}

// Keep reverses let go: the partner is kept, its program_exit suppression
// lifted (nothing else: an unsubscribe stays), and its running last-call
// enrollments end. Repeating it changes nothing. Unknown partner:
// store.ErrNotFound.
func (s *Service) Keep(ctx context.Context, pid string) (Result, error) {
	now := s.cfg.Clock()
	if _, err := s.store.Facts(ctx, pid, now); err != nil {
		return Result{}, err
	}
	for range maxMoves {
		cur, err := s.store.LetGoState(ctx, pid)
		if err != nil {
			return Result{}, err
		}
		if cur.State == program.LetGoKept {
			return Result{PartnerID: pid, State: cur.State}, nil
		}
		moved, err := s.store.MoveLetGo(ctx, pid, cur, program.LetGoKept, now)
		if err != nil {
			return Result{}, err
		}
		if !moved {
			continue
		}
		if cur.State == program.LetGoReengaging {
			if err := s.nurture.EndPartnerFlow(ctx, s.cfg.Flow, pid, ReasonKept); err != nil {
				return Result{}, err
			}
		}
		return Result{PartnerID: pid, State: program.LetGoKept, Changed: true}, nil
	}
	return Result{}, fmt.Errorf("letgo: the state of %s moved under %d attempts", pid, maxMoves)
}

// Ended is nurture's EngineConfig.Ended: an enrollment of the last-call
// flow ended, so its partner may be settled.
func (s *Service) Ended(ctx context.Context, en *nurture.Enrollment) error {
	if en.Flow != s.cfg.Flow {
		return nil
	}
	return s.Settle(ctx, en.PartnerID)
}

// Settle moves a re-engaging partner on once every contact's last-call
// enrollment is over (program.LetGoSettled): kept when one answered,
// exited otherwise. Anything else is left as it is; it is idempotent.
func (s *Service) Settle(ctx context.Context, pid string) error {
	cur, err := s.store.LetGoState(ctx, pid)
	if err != nil || cur.State != program.LetGoReengaging {
		return err
	}
	list, err := s.nurture.PartnerEnrollments(ctx, s.cfg.Flow, pid)
	if err != nil {
		return err
	}
	calls := make([]program.LastCall, len(list))
	for i, en := range list {
		calls[i] = program.LastCall{Over: en.Status.Over(), Completed: en.Status == nurture.StatusCompleted}
	}
	to := program.LetGoSettled(calls)
	if to == "" {
		return nil
	}
	// A false move: another settlement or an action came first.
	_, err = s.store.MoveLetGo(ctx, pid, cur, to, s.cfg.Clock())
	return err
}
