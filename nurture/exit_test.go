package nurture_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// exitedPartners is the program's side of the gate: the partners let go.
type exitedPartners map[string]bool

func (e exitedPartners) Exited(_ context.Context, pid string) (bool, error) { return e[pid], nil }

func (e exitedPartners) ExitedMany(_ context.Context, pids []string) ([]bool, error) {
	out := make([]bool, len(pids))
	for i, p := range pids {
		out[i] = e[p]
	}
	return out, nil
}

// Suppressed reads scoring's reasons first: a contact that unsubscribed
// keeps that reason when its partner is let go, and keeps it when the
// partner is kept. The batch read answers as the single one.
func TestWithExits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.New(t)
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	scores, err := scoring.NewEngine(rdb, scoring.Config{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, scores, repqueue.Config{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nurture.WithExits(scores, nil); err == nil {
		t.Error("WithExits without the exits: no error")
	}
	exits := exitedPartners{"ghost": true}
	supp, err := nurture.WithExits(scores, exits)
	if err != nil {
		t.Fatal(err)
	}
	gate, err := nurture.NewGate(dir, supp, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"ghost", "fine"} {
		if _, _, err := dir.PutPartner(ctx, directory.Partner{ID: p, Name: p}); err != nil {
			t.Fatal(err)
		}
	}
	cs := []directory.Contact{
		{ID: "jane", PartnerID: "ghost", Email: "jane@ghost.example"},
		{ID: "bob", PartnerID: "ghost", Email: "bob@ghost.example"},
		{ID: "ann", PartnerID: "fine", Email: "ann@fine.example"},
	}
	for _, c := range cs {
		if _, _, err := dir.PutContact(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := scores.Apply(ctx, scoring.Target{PartnerID: "ghost", ContactID: "bob"}, []event.Event{
		{ID: "u1", Type: event.EmailUnsubscribe, OccurredAt: time.Now()},
	}); err != nil {
		t.Fatal(err)
	}
	check := func(when string, want []string) {
		t.Helper()
		many, err := gate.MayMailContacts(ctx, cs)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cs {
			d, err := gate.MayMail(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d.Reason != want[i] || many[i] != d {
				t.Errorf("%s: %s: %+v (batch %+v), want %q", when, c.ID, d, many[i], want[i])
			}
		}
	}
	check("let go", []string{"suppressed: program_exit", "suppressed: unsubscribe", ""})
	exits["ghost"] = false // kept
	check("kept", []string{"", "suppressed: unsubscribe", ""})
}

// The Ended hook hears an enrollment that completes and one that exits,
// and hears it again from a stale task of an ended enrollment (so a
// failed hook is retried with its task); its error fails the run.
func TestEndedHook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var heard []string
	fail := false
	b := setup(t, options{flow: "id: short\nname: Short\nwindow: always\nsteps:\n  - {id: hello, send: hello}\n",
		ended: func(_ context.Context, en *nurture.Enrollment) error {
			mu.Lock()
			defer mu.Unlock()
			heard = append(heard, en.Flow+":"+en.ContactID)
			if fail {
				return errors.New("hook down")
			}
			return nil
		}})
	r := b.enroll(t, "short", "jane")
	b.drive(t, []nurture.Next{*r.Next}, nil)
	if en := b.enrollment(t, r.Enrollment.ID); en.Status != nurture.StatusCompleted {
		t.Fatalf("status %s, want completed", en.Status)
	}
	if len(heard) != 1 || heard[0] != "short:jane" || len(b.smtp.Messages()) != 1 {
		t.Fatalf("heard %v after one completion (%d emails)", heard, len(b.smtp.Messages()))
	}
	fail = true
	if _, err := b.eng.Run(b.ctx, r.Next.Task); err == nil {
		t.Error("a stale task of an ended enrollment ran with a failing hook: no error")
	}
	if len(heard) != 2 || len(b.smtp.Messages()) != 1 {
		t.Errorf("heard %v, %d emails: want the stale task to tell again and send nothing", heard, len(b.smtp.Messages()))
	}
}
