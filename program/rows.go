package program

import (
	"cmp"
	"slices"
	"time"
)

// TierRow is one partner's line of the tier-suggestion table: its stage
// and its Suggestion.
type TierRow struct {
	PartnerID string    `json:"partner_id"`
	Stage     StageName `json:"stage"`
	Suggestion
}

// TierRows are the tier suggestions of all partners at now: the moves to
// act on first (up, down, set), then the partners that stay; within each,
// by partner id.
func TierRows(all []Facts, cfg Config, now time.Time) []TierRow {
	out := make([]TierRow, len(all))
	for i, f := range all {
		out[i] = TierRow{PartnerID: f.PartnerID, Stage: Stage(f, cfg, now), Suggestion: SuggestTier(f, cfg, now)}
	}
	order := map[string]int{MoveUp: 0, MoveDown: 1, MoveSet: 2, MoveStay: 3}
	slices.SortFunc(out, func(a, b TierRow) int {
		return cmp.Or(cmp.Compare(order[a.Move], order[b.Move]), cmp.Compare(a.PartnerID, b.PartnerID))
	})
	return out
}

// Moves lists the tier moves, in TierRows order.
func Moves() []string { return []string{MoveUp, MoveDown, MoveSet, MoveStay} }
