package directory

import "context"

// PartnerChange is what one write did to a partner's record: the record
// before it (Existed false for a partner the write created) and after.
// It is taken from the atomic upsert itself, not from an earlier read, so
// of two writers racing on one partner each sees what it really replaced:
// whoever follows up on a change (the program's stage recomputation)
// misses none.
type PartnerChange struct {
	Before  Partner `json:"before"`
	Existed bool    `json:"existed"`
	After   Partner `json:"after"`
}

// ProgramDatesChanged says whether the change moved joined_at or left_at,
// compared as instants ("2025-03-01" and "2025-03-01T00:00:00Z" are the
// same date). A created partner's dates changed from nothing.
func (c PartnerChange) ProgramDatesChanged() bool {
	if !c.Existed {
		return true
	}
	return !c.Before.Joined().Equal(c.After.Joined()) || !c.Before.Left().Equal(c.After.Left())
}

// PutPartnerChange is PutPartner returning what the write changed; the
// bool is false when the partner was already stored exactly so (nothing
// written; Before is then the same as After).
func (s *Store) PutPartnerChange(ctx context.Context, p Partner) (PartnerChange, bool, error) {
	if err := p.Validate(); err != nil {
		return PartnerChange{}, false, err
	}
	return s.putPartner(ctx, p, false)
}

// partnerChange decodes the previous and current values an upsert
// reported for partner id.
func partnerChange(id, prev, value string) (PartnerChange, error) {
	after, err := decodePartner(id, value)
	if err != nil {
		return PartnerChange{}, err
	}
	c := PartnerChange{After: after}
	if prev != "" {
		if c.Before, err = decodePartner(id, prev); err != nil {
			return PartnerChange{}, err
		}
		c.Existed = true
	}
	return c, nil
}
