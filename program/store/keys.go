package store

import "github.com/longtailhq/longtail/directory"

// Every Redis key of the program view is built here and nowhere else.
//
// All of them are a partner's, under its directory hash tag {p:<pid>}, so
// they share the slot of the partner's record and scores on Redis Cluster
// and each write below is a single-key command (pipelined across
// partners, never a multi-key script across slots), but for the stage
// record, whose script writes the record and the timeline of one partner
// (one slot):
//
//	lt:{p:<pid>}:pg:res   hash  the results log: event id → "<kind> <unix
//	                            ms> <value> <origin>" for each deal.registered
//	                            (kind d), deal.won (w) and purchase (p) of the
//	                            partner. HSETNX by event id makes a retried or
//	                            redelivered event count once. Unbounded:
//	                            deals and purchases are few per partner.
//	lt:{p:<pid>}:pg:eng   zset  months with a scored engagement: member
//	                            "2026-11", score the unix ms of the month's
//	                            latest (ZADD GT), so the highest score is the
//	                            last engagement. Months older than
//	                            engagedMonthsKept are dropped on write.
//	lt:{p:<pid>}:pg:snap  str   the daily score snapshots: a ring of
//	                            snapshotSlots records of 6 bytes, each a
//	                            little-endian uint16 day (days since
//	                            2000-01-01, plus one so that a zero slot is
//	                            empty) and a float32 score, written with
//	                            SETRANGE at slot day mod snapshotSlots. A day
//	                            written twice overwrites itself, a slot read
//	                            back counts only when its day is the day
//	                            asked for: bounded (600 bytes) with no
//	                            script and no trimming.

//	lt:{p:<pid>}:pg:stage  str   the stage last recorded: "<stage> <unix ms>"
//	                             (when it was recorded). Written only by
//	                             stageScript, a compare-and-set on the value
//	                             Go read, so two runs that see the same
//	                             change record it once.
//	lt:{p:<pid>}:pg:stages list  the partner's timeline of stages, newest
//	                             first: "<unix ms> <from> <to>" (from "-" for
//	                             the first stage), capped at stageChangesKept.
//	lt:{p:<pid>}:pg:letgo  hash  the "let go" action's state: s "<state>
//	                             <unix ms>" (reengaging, exited or kept, since
//	                             when), and r, x, k the unix ms it was last
//	                             re-engaged, exited, kept. Written only by
//	                             letGoScript, a compare-and-set on s.

const keyPrefix = "lt:"

func partnerKey(pid, suffix string) string {
	return keyPrefix + directory.PartnerTag(pid) + ":pg:" + suffix
}

// resultsKey is the partner's results log.
func resultsKey(pid string) string { return partnerKey(pid, "res") }

// engagedKey is the partner's months with engagement.
func engagedKey(pid string) string { return partnerKey(pid, "eng") }

// snapshotKey is the partner's ring of daily score snapshots.
func snapshotKey(pid string) string { return partnerKey(pid, "snap") }

// stageKey is the partner's last recorded stage.
func stageKey(pid string) string { return partnerKey(pid, "stage") }

// stagesKey is the partner's timeline of stages.
func stagesKey(pid string) string { return partnerKey(pid, "stages") }

// letGoKey is the partner's "let go" state.
func letGoKey(pid string) string { return partnerKey(pid, "letgo") }
