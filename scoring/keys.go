package scoring

import (
	"encoding/binary"
	"fmt"

	"github.com/longtailhq/longtail/event"
)

// Every Redis key of the scoring engine is built here.
//
// Per-partner keys share the hash tag {p:<partnerID>} with the partner
// directory (which owns lt:{p:<pid>}:partner and lt:{p:<pid>}:c:<cid>), so
// one Lua script can update a contact and its partner atomically on Redis
// Cluster. Scoring keys carry ":s:" after the tag so they never collide with
// the directory's. The leaderboard lives in its own slot, {lb}.
//
//	lt:{p:<pid>}:s:c:<cid>  string contact: a header (normalised score,
//	                              fit, suppression, compaction state), then
//	                              records: seen markers (event-id digests,
//	                              per-message markers, daily-cap counters)
//	                              and explain deltas (interests derive from
//	                              them); see applyScript. One string a
//	                              batch appends to: no field names to pass,
//	                              read and write
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
//	                              each (appendContactEntry; Redis 7.0 keeps a
//	                              set of strings as a hashtable; the hottest
//	                              is found on read)
//	lt:{lb}:partners        zset  partners by normalised score
//	lt:{lb}:ver             hash  partner → version last written to the zset

func partnerTag(pid string) string { return "lt:{p:" + pid + "}:s:" }

// appendApplyKeys appends applyScript's KEYS for a contact to b, as
// contactScoreKey, contactTimelineKey, partnerScoreKey and
// partnerContactsKey build them, and returns where each ends: the hot path
// slices them out of one string instead of allocating each.
func appendApplyKeys(b []byte, pid, cid string) ([]byte, [applyKeyCount]int) {
	var ends [applyKeyCount]int
	for k, suffix := range [applyKeyCount]string{"c:", "t:", "p", "pc"} {
		b = append(b, "lt:{p:"...)
		b = append(b, pid...)
		b = append(b, "}:s:"...)
		b = append(b, suffix...)
		if k < 2 {
			b = append(b, cid...)
		}
		ends[k] = len(b)
	}
	return b, ends
}

func contactScoreKey(pid, cid string) string    { return partnerTag(pid) + "c:" + cid }
func contactTimelineKey(pid, cid string) string { return partnerTag(pid) + "t:" + cid }
func partnerScoreKey(pid string) string         { return partnerTag(pid) + "p" }
func partnerContactsKey(pid string) string      { return partnerTag(pid) + "pc" }

const (
	leaderboardKey         = "lt:{lb}:partners"
	leaderboardVersionsKey = "lt:{lb}:ver"
)

// typeCodes are the short names event types take inside stored records
// (explain aggregates, daily-cap counters), to keep contacts small. They
// are stored: never change or reuse one; add new types with new codes. The script tests "op", "cl" and "dl" by name.
var typeCodes = map[event.Type]string{
	event.EmailDelivered:    "dl",
	event.EmailOpen:         "op",
	event.EmailClick:        "cl",
	event.EmailBounce:       "bo",
	event.EmailSpam:         "sp",
	event.EmailUnsubscribe:  "un",
	event.EmailReply:        "re",
	event.WebVisit:          "wv",
	event.ContentDownload:   "cd",
	event.WebinarRegistered: "wr",
	event.WebinarAttended:   "wa",
	event.EventAttended:     "ea",
	event.DealRegistered:    "dr",
	event.DealWon:           "dw",
	event.Purchase:          "pu",
}

// typeOfCode inverts typeCodes.
func typeOfCode(code string) (event.Type, bool) {
	for t, c := range typeCodes {
		if c == code {
			return t, true
		}
	}
	return "", false
}

// appendContactEntry appends a contact's entry in the partner's contacts
// list (partnerContactsKey): the id's length as a little-endian uint16,
// then the id (at most 256 bytes: checkID).
func appendContactEntry(b []byte, cid string) []byte {
	return append(binary.LittleEndian.AppendUint16(b, uint16(len(cid))), cid...)
}

// parseContactEntries reads a partner's contacts list, each id once.
func parseContactEntries(s string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for len(s) > 0 {
		if len(s) < 2 || len(s) < 2+int(binary.LittleEndian.Uint16([]byte(s))) {
			return nil, fmt.Errorf("partner contacts list cut short: %q", s)
		}
		n := int(binary.LittleEndian.Uint16([]byte(s)))
		// A contact whose scores were deleted joins again on its next batch.
		if id := s[2 : 2+n]; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		s = s[2+n:]
	}
	return ids, nil
}
