package scoring

import (
	"strings"

	"github.com/longtailhq/longtail/scoring/internal/store"
)

// Every Redis key of the scoring engine is built here; their byte formats
// are documented in package store (scoring/internal/store).
//
// Per-partner keys share the hash tag {p:<partnerID>} with the partner
// directory (which owns lt:{p:<pid>}:partner and lt:{p:<pid>}:c:<cid>), so
// one Lua script can update a contact and its partner atomically on Redis
// Cluster. Scoring keys carry ":s:" after the tag so they never collide with
// the directory's. The leaderboard lives in its own slot, {lb}.
//
//	lt:{p:<pid>}:s:c:<cid>  string contact: a header (normalised score,
//	                              fit, suppression, compaction state, write
//	                              token), then records: seen markers
//	                              (event-id digests, per-message markers,
//	                              daily-cap counters) and explain deltas
//	                              (interests derive from them). One string
//	                              a batch appends to: no field names to
//	                              pass, read and write
//	lt:{p:<pid>}:s:t:<cid>  list  contact timeline, oldest arrival first
//	                              (a list of listpacks: far smaller than a
//	                              zset of JSON members; appending is cheap)
//	lt:{p:<pid>}:s:p        hash  partner: "h" (normalised score, version,
//	                              crossing state, last engagement, threshold,
//	                              fit, packed), "dis", interests, RFM result
//	                              and RFM day buckets f<day>, m<day> (in the
//	                              partner hash, the script reads and writes
//	                              them with the rest: two redis.call fewer)
//	lt:{p:<pid>}:s:pc       string partner's scored contacts, appended once
//	                              each (store.AppendEntry; Redis 7.0 keeps a
//	                              set of strings as a hashtable; the hottest
//	                              is found on read)
//	lt:{lb}:partners        zset  partners by normalised score
//	lt:{lb}:ver             hash  partner → version last written to the zset

func partnerTag(pid string) string { return "lt:{p:" + pid + "}:s:" }

// applyKeys are store.ApplyScript's KEYS for a contact in one string, as
// contactScoreKey, contactTimelineKey, partnerScoreKey and
// partnerContactsKey build them, and where each ends: the hot path slices
// them out of one string instead of allocating each.
func applyKeys(pid, cid string) (string, [store.ApplyKeys]int) {
	var ends [store.ApplyKeys]int
	var b strings.Builder
	b.Grow(4*(12+len(pid)) + 2*len(cid))
	for k, suffix := range [store.ApplyKeys]string{"c:", "t:", "p", "pc"} {
		b.WriteString("lt:{p:")
		b.WriteString(pid)
		b.WriteString("}:s:")
		b.WriteString(suffix)
		if k < 2 {
			b.WriteString(cid)
		}
		ends[k] = b.Len()
	}
	return b.String(), ends
}

func contactScoreKey(pid, cid string) string    { return partnerTag(pid) + "c:" + cid }
func contactTimelineKey(pid, cid string) string { return partnerTag(pid) + "t:" + cid }
func partnerScoreKey(pid string) string         { return partnerTag(pid) + "p" }
func partnerContactsKey(pid string) string      { return partnerTag(pid) + "pc" }

const (
	leaderboardKey         = "lt:{lb}:partners"
	leaderboardVersionsKey = "lt:{lb}:ver"
)
