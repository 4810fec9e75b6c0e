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
// # Writing
//
// The ingest job resolves each event to a contact, groups a batch by
// contact and calls Engine.ApplyBatch for many contacts at once (or
// Engine.Apply per contact). One Lua script per contact does dedup (event
// ids kept DedupRetention), filters, caps, decay, interests, timeline,
// roll-up, RFM facts and the threshold test atomically; all keys of a
// partner share the hash tag {p:<partner id>} (keys.go), so it runs on
// Redis Cluster. Applying the same events again changes nothing. Go reads
// each contact first (a plain GET) and judges its batch against it
// (fresh.go); the script only checks that the contact is still the one Go
// read (its version), and judges event by event when Go's judgement does
// not hold or the contact was written in between. Both paths store the
// same bits (TestFastPathMatchesSlowPath), and engines sharing contacts
// judge as one does (TestEnginesSharingContacts).
//
// # Handoff exactly once
//
// When an armed partner's decayed score reaches its threshold, the script
// disarms it and records a pending Crossing with a sequence number. Every
// Apply for that partner returns the pending crossing until AckCrossing, so
// a worker that crashes before enqueuing the handoff gets it again on
// retry. The caller enqueues the handoff with Crossing.HandoffID as its task
// id, then acks: whatever the number of workers racing, one crossing makes
// one task. Rearm (a rep recycled the partner) or the score decaying below
// RearmFraction × threshold (seen by Apply or Sweep) allows the next one.
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
// with the engine's exact rules in memory (for `longtail simulate`), and is
// the reference the engine is tested against.
package scoring
