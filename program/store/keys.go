package store

import "github.com/longtailhq/longtail/directory"

// Every Redis key of the program view is built here and nowhere else.
//
// All of them are a partner's, under its directory hash tag {p:<pid>}, so
// they share the slot of the partner's record and scores on Redis Cluster
// and each write below is a single-key command (pipelined across
// partners, never a multi-key script across slots):
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
