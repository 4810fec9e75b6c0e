// Package store is how scoring keeps contacts and partners in Redis: the
// byte formats, their encoders and decoders, and the Lua scripts that
// commit what scoring decided. The formats are documented here and only
// here; the scripts' comments say which arguments carry what.
//
// Nothing in this package decides anything about scoring. Package scoring
// judges every batch in Go against the contact as it read it (its judge
// function: dedup, filters, caps, scanner window, points, decay, interests,
// explain deltas, partner field deltas, the threshold levels) and hands
// this package the records to append and the numbers to add. ApplyScript
// only commits them: "is the contact still the one read? then write it and
// add these deltas to its partner; otherwise write nothing and say stale".
// Partner.Commit is Go's copy of the same mechanics for the in-memory
// Model, and TestCommitMatchesScript keeps the two in step.
//
// Times are ms since scoring's Epoch (2025-01-01 UTC) unless said
// otherwise; "minutes" are whole minutes since Epoch. Numbers are packed
// little-endian (float64 unless said otherwise), never formatted: a script
// unpacks them with struct (in C on redis-server, ShimSource elsewhere).
//
// # Contact string
//
// Everything scoring keeps for a contact, besides its timeline, is one
// string (lt:{p:<pid>}:s:c:<cid>): a header of HeaderLen bytes, then
// records. A batch appends its records and rewrites the header in place;
// compaction, decided in Go, replaces the whole string.
//
// Header: 7 slots of 8 bytes.
//
//	0 next compaction time (minutes)
//	1 N, the normalised score: Σ points·2^(t/half-life)
//	2 fit points
//	3 suppression code (Suppressions; 0 none)
//	4 the length past which compaction is due
//	5 compactions so far
//	6 write token: 8 random bytes, new on every write, so that a writer
//	  can tell whether the string is still the one it read (a count could
//	  come back to the value read after another writer's write)
//
// Records, each a key, then, for the markers, an expiry in minutes as a
// uint32 and a payload:
//
//	i<id digest>               13 bytes  event id seen
//	o<message digest>          13 bytes  open counted for the message
//	c<message digest>          13 bytes  click counted for the message
//	d<message digest>          21 bytes  delivered; payload: delivery time (float64)
//	k<type code><day uint32>   15 bytes  daily cap; payload: events counted that day (uint32)
//	x<topic length uint16><type code><topic><m>  explain deltas: m (3 or 8)
//	    float64: count, points, N, then when any is set one counter per
//	    filter reason (duplicate, machine_open, scanner_click,
//	    per_message, daily_cap)
//
// Digests are the first 8 bytes of SHA-256("i" + event id) or
// SHA-256("m" + message id); day is floor(t / 1 day). A marker's value is
// that of its newest unexpired record with the same key (Newest): records
// are only appended between compactions, so a key found at a place that is
// not a record's start is as likely as two digests colliding, and a lookup
// needs no walk. Explain records of one key add up, in stored order.
// Compaction (Compact) sums them into one per key, keeps the unexpired
// markers in order, and of d and k records only the newest.
//
// # Contact timeline
//
// A list (lt:{p:<pid>}:s:t:<cid>) of one element per batch, oldest arrival
// first: the batch's items joined by newlines, each the JSON of Item (one
// letter keys and the type code: every byte stored costs Redis several
// copies). The newest timeline-length elements are kept.
//
// # Partner hash
//
// lt:{p:<pid>}:s:p:
//
//	h        8 float64 (PartnerHead): N, version (writes so far), crossing
//	         seq, pending crossing seq (0: none), crossed at (unix ms), last
//	         scored engagement (unix ms), the threshold last scored
//	         against, fit
//	dis      "1" while disarmed (crossed, not yet re-armed)
//	i|<topic> interest N (float64)
//	f<day>   scored engagements that day (float64)
//	m<day>   monetary value that day (float64)
//	rfm      the RFM result (JSON, written by ComputeRFM)
//
// The partner's scored contacts (lt:{p:<pid>}:s:pc) are one string of
// entries, each a contact id after its length as a uint16, appended when
// the contact is first scored (AppendEntry, ParseEntries).
package store
