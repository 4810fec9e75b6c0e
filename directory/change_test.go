package directory

import (
	"testing"
	"time"
)

// A partner write reports the record it replaced and the one it stored,
// whether it went through PutPartnerChange or a batch; an identical write
// reports no change.
func TestPartnerChangeReportsWhatTheWriteReplaced(t *testing.T) {
	t.Parallel()
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "single", true: "batch"}[batch], func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			put := func(p Partner) (PartnerChange, bool) {
				t.Helper()
				if !batch {
					c, changed, err := f.store.PutPartnerChange(f.ctx, p)
					if err != nil {
						t.Fatal(err)
					}
					return c, changed
				}
				res, err := f.store.NewBatch().PutPartners(f.ctx, []PartnerPut{{ID: p.ID, Merge: func(Partner, bool) (Partner, error) { return p, nil }}})
				if err != nil {
					t.Fatal(err)
				}
				if res[0].Err != nil {
					t.Fatal(res[0].Err)
				}
				if res[0].Unchanged != (res[0].Change == nil) {
					t.Fatalf("batch result %+v: Change must be set exactly when the write changed the partner", res[0])
				}
				if res[0].Change == nil {
					return PartnerChange{}, false
				}
				return *res[0].Change, true
			}
			joined := Partner{ID: "acme", Name: "Acme", Tier: "silver", JoinedAt: "2025-03-01"}
			c, changed := put(joined)
			if !changed || c.Existed || c.After.JoinedAt != "2025-03-01" || c.After.UpdatedAt.IsZero() {
				t.Fatalf("creation: %+v, %v; want a new partner", c, changed)
			}
			if !c.ProgramDatesChanged() {
				t.Error("a created partner's dates changed from nothing")
			}
			if c, changed := put(joined); changed {
				t.Fatalf("identical write reported a change: %+v", c)
			}
			f.clock.Advance(time.Minute)
			left := joined
			left.LeftAt = "2026-01-05"
			c, changed = put(left)
			if !changed || !c.Existed || c.Before.LeftAt != "" || c.After.LeftAt != "2026-01-05" || !c.After.UpdatedAt.After(c.Before.UpdatedAt) {
				t.Fatalf("left_at set: %+v, %v", c, changed)
			}
			if !c.ProgramDatesChanged() {
				t.Error("setting left_at changed no program date")
			}
			gold := left
			gold.Tier = "gold"
			c, changed = put(gold)
			if !changed || c.Before.Tier != "silver" || c.After.Tier != "gold" || c.ProgramDatesChanged() {
				t.Fatalf("tier change: %+v, %v, dates changed %v; want a change that moves no date", c, changed, c.ProgramDatesChanged())
			}
		})
	}
}

func TestProgramDatesChanged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		before, after Partner
		want          bool
	}{
		{"same date", Partner{JoinedAt: "2025-03-01"}, Partner{JoinedAt: "2025-03-01"}, false},
		{"same instant, other spelling", Partner{JoinedAt: "2025-03-01"}, Partner{JoinedAt: "2025-03-01T00:00:00Z"}, false},
		{"joined_at moved", Partner{JoinedAt: "2025-03-01"}, Partner{JoinedAt: "2025-03-02"}, true},
		{"joined_at cleared", Partner{JoinedAt: "2025-03-01"}, Partner{}, true},
		{"left_at set", Partner{JoinedAt: "2025-03-01"}, Partner{JoinedAt: "2025-03-01", LeftAt: "2026-01-05"}, true},
		{"left_at cleared", Partner{LeftAt: "2026-01-05"}, Partner{}, true},
		{"other fields only", Partner{Name: "A", Tier: "silver"}, Partner{Name: "B", Tier: "gold"}, false},
	} {
		if got := (PartnerChange{Before: tc.before, Existed: true, After: tc.after}).ProgramDatesChanged(); got != tc.want {
			t.Errorf("%s: ProgramDatesChanged = %v, want %v", tc.name, got, tc.want)
		}
	}
}
