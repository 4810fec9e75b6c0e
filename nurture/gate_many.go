package nurture

import (
	"context"
	"fmt"

	"github.com/longtailhq/longtail/directory"
)

// suppressionsMany reads many contacts' suppression at once;
// *scoring.Engine is one.
type suppressionsMany interface {
	SuppressedMany(ctx context.Context, partnerIDs, contactIDs []string) ([]string, error)
}

// callQueueMany reads many partners' hold at once; *repqueue.Queue is one.
type callQueueMany interface {
	MayMailMany(ctx context.Context, partnerIDs []string) ([]bool, []string, error)
}

// MayMailContacts is MayMailContact for each of cs, in a pipeline per
// collaborator when they can read many at once (one at a time otherwise):
// the same decisions, with the same reasons in the same order.
func (g *Gate) MayMailContacts(ctx context.Context, cs []directory.Contact) ([]Decision, error) {
	sm, ok1 := g.supp.(suppressionsMany)
	qm, ok2 := g.queue.(callQueueMany)
	out := make([]Decision, len(cs))
	if !ok1 || !ok2 {
		for i, c := range cs {
			d, err := g.MayMailContact(ctx, c)
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
		return out, nil
	}
	pids, cids := make([]string, len(cs)), make([]string, len(cs))
	for i, c := range cs {
		pids[i], cids[i] = c.PartnerID, c.ID
	}
	sup, err := sm.SuppressedMany(ctx, pids, cids)
	if err != nil {
		return nil, fmt.Errorf("nurture: suppression: %w", err)
	}
	held, why, err := qm.MayMailMany(ctx, pids)
	if err != nil {
		return nil, fmt.Errorf("nurture: call queue: %w", err)
	}
	for i, c := range cs {
		out[i] = decide(c, sup[i], held[i], why[i])
	}
	return out, nil
}
