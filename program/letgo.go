package program

// The "let go" action's states of a partner at risk (Risk.State).
const (
	// LetGoRecommended: nobody acted on the recommendation yet.
	LetGoRecommended = "recommended"
	// LetGoReengaging: let go was applied; its contacts are in the last
	// re-engagement flow.
	LetGoReengaging = "reengaging"
	// LetGoExited: the flow ended unanswered; the partner's contacts are
	// suppressed with reason program_exit.
	LetGoExited = "exited"
	// LetGoKept: someone chose to keep it (keep), or a contact answered
	// the last re-engagement flow.
	LetGoKept = "kept"
)

// ActionKept: the partner was kept since it was found at risk; nothing to
// do unless someone lets it go after all.
const ActionKept = "kept"

// LastCall is one contact's enrollment in the last re-engagement flow.
type LastCall struct {
	// Over: the enrollment ended. Completed: it ended at the bottom of the
	// flow, which only an answer (a click) reaches.
	Over, Completed bool
}

// LetGoSettled is the state a re-engaging partner moves to, from its
// contacts' enrollments in the last re-engagement flow: "" while one
// still runs; kept when one completed (a contact answered); exited when
// all ended without an answer (none enrolled included: nobody could be
// mailed).
func LetGoSettled(calls []LastCall) string {
	answered := false
	for _, c := range calls {
		if !c.Over {
			return ""
		}
		answered = answered || c.Completed
	}
	if answered {
		return LetGoKept
	}
	return LetGoExited
}
