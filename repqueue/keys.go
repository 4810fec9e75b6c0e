package repqueue

import "github.com/longtailhq/longtail/directory"

// Every Redis key of the rep queue is built here.
//
// Slots and why the writes are split the way they are
//
// A partner's handoff state shares the directory's hash tag {p:<pid>}:
//
//	lt:{p:<pid>}:q:e     hash  the partner's current handoff entry (the
//	                           source of truth: state, rep, due, version)
//	lt:{p:<pid>}:q:tl    list  the partner's queue timeline, newest first,
//	                           capped at timelineLength
//	lt:{p:<pid>}:q:n     hash  nurture coordination: "until" (cooldown end,
//	                           unix ms) and "stop" (not_a_fit)
//	lt:{p:<pid>}:q:pend  str   "<seq> <rep>": the rep a handoff is reserving,
//	                           so a retried handoff reuses its reservation
//
// A rep's keys share the tag {r:<rep>}:
//
//	lt:{r:<rep>}:q            zset  partner ids of the rep's open entries,
//	                                scored by when each may be worked
//	                                (available_at, unix ms)
//	lt:{r:<rep>}:cap:<day>    set   handoff ids the rep took on that local
//	                                day; SCARD is the capacity used
//	lt:{r:<rep>}:kpi          hash  KPI counters
//	lt:{r:<rep>}:ttc          list  the last ttcWindow times to claim (ms)
//
// (The rep's API tokens, lt:{r:<rep>}:tokens and lt:rtok:<sha256>, belong
// to package reptoken.)
//
// Global keys, each in a slot of its own and written with single-key
// commands or single-slot scripts only:
//
//	lt:{q}:due        zset  partner ids of routed queued entries by due_at
//	lt:{q}:unrouted   zset  partner ids of entries no rep could take
//	lt:{q}:escalated  zset  partner ids of escalated entries
//	lt:{kpi}:all      hash  overall KPI counters
//	lt:{kpi}:ttc      list  overall last ttcWindow times to claim
//	lt:{kpi}:day:<d>  hash  handoffs and unrouted created on UTC day d
//	                        ("2006-01-02"), kept dayKPIDays (the ops
//	                        pages' hand-offs this week)
//
// A handoff touches a rep's capacity (rep slot) and a partner's entry
// (partner slot): on Redis Cluster no script may span both. So the entry
// alone is the truth and everything else is either reserved before it or
// derived from it:
//
//  1. reserve capacity in the rep slot (one script: SCARD < cap → SADD of
//     the handoff id). The member is the handoff id, so reserving again for
//     the same handoff is a no-op that succeeds, and two handoffs can never
//     both take a rep's last slot;
//  2. add the partner to the rep's queue index (and, NX, to the due index);
//  3. create the entry in the partner slot (one script that refuses when
//     an open or newer entry exists). A loser of a race gives its
//     reservation and index membership back unless the winner chose the
//     same rep (compensation).
//
// Later transitions (claim, outcome, SLA reassignment) are compare-and-set
// on the entry's version in the partner slot; index updates that add come
// before the CAS and those that remove come after it. Readers (List, the
// sweep) check every index member against its entry, so a crash between
// steps leaves at worst a stale index member, read and skipped, never an
// entry shown to the wrong rep. The pend key makes a handoff retried after
// a crash between steps 1 and 3 reuse the rep it had reserved.

const keyPrefix = "lt:"

func partnerKey(pid, suffix string) string {
	return keyPrefix + directory.PartnerTag(pid) + ":q:" + suffix
}

func entryKey(pid string) string    { return partnerKey(pid, "e") }
func timelineKey(pid string) string { return partnerKey(pid, "tl") }
func nurtureKey(pid string) string  { return partnerKey(pid, "n") }
func pendKey(pid string) string     { return partnerKey(pid, "pend") }

// repTag returns the hash tag of a rep, "{r:<rep>}" (directory.RepTag).
func repTag(repID string) string { return directory.RepTag(repID) }

func repQueueKey(repID string) string { return keyPrefix + repTag(repID) + ":q" }

// capacityKey counts a rep's handoffs of one local day ("2006-01-02").
func capacityKey(repID, day string) string { return keyPrefix + repTag(repID) + ":cap:" + day }

func repKPIKey(repID string) string { return keyPrefix + repTag(repID) + ":kpi" }
func repTTCKey(repID string) string { return keyPrefix + repTag(repID) + ":ttc" }

const (
	dueKey       = keyPrefix + "{q}:due"
	unroutedKey  = keyPrefix + "{q}:unrouted"
	escalatedKey = keyPrefix + "{q}:escalated"
	allKPIKey    = keyPrefix + "{kpi}:all"
	allTTCKey    = keyPrefix + "{kpi}:ttc"
)

// dayKPIKey counts the handoffs created on one UTC day.
func dayKPIKey(day string) string { return keyPrefix + "{kpi}:day:" + day }
