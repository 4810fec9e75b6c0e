// Package scoring keeps the decaying engagement scores of contacts and
// partners in Redis: the rubric, anti-gaming filters, exact decay, roll-up,
// threshold crossings with exactly-once handoff, the leaderboard, RFM and
// the explanations reps and marketing ops read.
//
// # Decay
//
// A score at time t is Σ pᵢ·2^(−(t−tᵢ)/h) over the credited events, with h
// the half-life. The engine stores N = Σ pᵢ·2^((tᵢ−T0)/h) for a fixed
// reference T0 (Epoch) and reads N·2^(−(t−T0)/h): one addition per event,
// one multiplication per read, exact for out-of-order and back-dated
// events, no nightly batch. Interests per topic, the partner roll-up (the
// sum of its contacts' N) and the explain aggregates are stored the same
// way, and with one half-life the order of stored N is the order of decayed
// scores, so the leaderboard is a plain sorted set and the hottest contact
// the one with the largest stored N.
//
// # Writing: Go judges, the script commits
//
// The ingest job resolves each event to a contact, groups a batch by
// contact and calls Engine.ApplyBatch for many contacts at once (or
// Engine.Apply per contact). The engine reads each contact (a plain GET of
// its string), judges its batch against it with judge (judge.go), the one
// function that applies the rules (dedup of event ids kept
// DedupRetention, machine and scanner filters, one open and click per
// message, daily caps, decay, interests, explain aggregates, RFM facts,
// the threshold levels), and commits the verdict with one Lua script per
// contact (store.ApplyScript) that applies no rule: "is the contact still
// the string read? then append these records, push this timeline element
// and add these deltas to the partner; otherwise write nothing and say
// stale". A stale batch is read and judged again, up to maxAttempts times
// (Stats counts them), then fails with ErrContended for the task to be
// retried. All keys of a partner share the hash tag {p:<partner id>}
// (keys.go), so the commit runs on Redis Cluster. Applying the same events
// again changes nothing. The byte formats, their encoders and decoders and
// the scripts live in scoring/internal/store, whose package doc is the one
// description of what is stored.
//
// The Model (model.go) calls the same judge and keeps contacts and
// partners in the same form in memory, committing as the script does
// (store.Partner.Commit): the Model and the engine agree by construction
// (TestModelMatchesEngine compares what they keep bit for bit), and a new
// rule, or a new event type (typeRules), is written once, in Go.
//
// # Handoff exactly once
//
// A partner's threshold crossing is shared by all its contacts, whose
// batches commit concurrently; requiring the partner to be unchanged since
// the read would make every contact of a busy partner retry. So the rule
// stays in Go and only its arithmetic runs in the commit: judge computes
// the levels to compare the partner's normalised N with (the threshold
// as a normalised score, threshold × 2^(now/half-life), when the batch
// adds to the score; the re-arm level RearmFraction × that), and the
// script adds the batch's ΔN to the partner's N and, atomically, disarms
// an armed partner whose N reaches the crossing level and records a
// pending Crossing with the next sequence number (or re-arms a disarmed
// one whose N before or after is below the re-arm level). Every Apply for
// that partner returns the pending crossing until AckCrossing, so a worker
// that crashes before enqueuing the handoff gets it again on retry. The
// caller enqueues the handoff with Crossing.HandoffID as its task id, then
// acks: whatever the number of workers racing, one crossing makes one
// task. Rearm (a rep recycled the partner) or the score decaying below
// RearmFraction × threshold (seen by a batch or by Sweep) allows the next
// one.
//
// # Scheduled work
//
// ComputeRFM ranks partners by recency, frequency and monetary (quintiles
// of the partners with a value, or fixed thresholds when fewer than
// RFM.MinPopulation have one) and names their segments; Sweep re-arms
// partners that decayed without new events. Both take partner ids;
// ScoredPartners lists the scored ones. Neither RFM nor the leaderboard
// ever includes Config.UnassignedPartner.
//
// # Without Redis
//
// Rubric computes points and the state-free filters; Model replays events
// with the engine's judge in memory (for `longtail simulate`) and sums
// decayed points event by event: the brute-force reference the engine's
// normalised sums are tested against.
package scoring
