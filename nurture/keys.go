package nurture

// Every Redis key of the nurture engine is built here.
//
// An enrollment lives in its partner's slot, the directory's hash tag
// {p:<pid>}, so that the script committing a transition (the enrollment,
// its history and the partner's index) runs on one Cluster slot, beside
// the partner's scores and queue entry:
//
//	lt:{p:<pid>}:nu:e:<flow>:<cid>  hash  one enrollment (fields below)
//	lt:{p:<pid>}:nu:h:<flow>:<cid>  list  its history, newest first, capped
//	                                      at historyLength: "<ms> <step> <outcome>"
//	lt:{p:<pid>}:nu:ix              set   "<flow>:<cid>" of every enrollment of
//	                                      the partner's contacts (ended ones too,
//	                                      for re-entry and listing)
//	lt:{p:<pid>}:nu:sl:<cid>        zset  the contact's nurture sends across flows
//	                                      (member: send id, score: unix ms), trimmed
//	                                      to the frequency cap's span: the cap
//	lt:{p:<pid>}:nu:tg:<cid>        set   tags tag steps put on the contact
//
// Enrollment hash fields are one or two letters, since a pending step's
// cost in memory is mostly field names (see TestMemoryPerPendingStep):
//
//	f flow id   c contact id   s step id   st status   r end reason
//	q seq (bumped by every committed transition; part of each task id)
//	n next run (unix ms)   e entered (ms)   u updated (ms)   x ended (ms)
//	w the waiter of a wait_for step: "<until ms> <event type> <topic> <step>"
//
// Funnel counters are per flow, in a slot of their own, written with
// single-key HINCRBY only (never inside an enrollment's script):
//
//	lt:{nf:<flow>}:nu:funnel        hash  "<step>.<counter>" → count
const nuPrefix = "lt:{p:"

func enrollmentKey(pid, flowID, cid string) string {
	return nuPrefix + pid + "}:nu:e:" + flowID + ":" + cid
}

func historyKey(pid, flowID, cid string) string {
	return nuPrefix + pid + "}:nu:h:" + flowID + ":" + cid
}

func partnerIndexKey(pid string) string { return nuPrefix + pid + "}:nu:ix" }

func sendLogKey(pid, cid string) string { return nuPrefix + pid + "}:nu:sl:" + cid }

func tagsKey(pid, cid string) string { return nuPrefix + pid + "}:nu:tg:" + cid }

func funnelKey(flowID string) string { return "lt:{nf:" + flowID + "}:nu:funnel" }

// partnerTag is the {hash tag} of the partner's slot, for send-once markers
// of nurture steps (they live beside the enrollment).
func partnerTag(pid string) string { return "{p:" + pid + "}" }
