package outbox

// Every Redis key of the outbox, under lt:outbox:. They all carry the one
// hash tag {outbox}, so the capture script, which pushes a new message and
// drops the oldest in one step, runs on a single Redis Cluster slot. The
// outbox is small (Config.Capacity messages) and only exists on the
// embedded default, so one slot is no hot spot.

const keyPrefix = "lt:outbox:{outbox}:"

// seqKey is a counter (INCR): the id of the newest message. Ids only grow,
// so a page link to a message never shows a different one.
func seqKey() string { return keyPrefix + "seq" }

// idsKey is a list of message ids, newest first, at most Capacity long.
func idsKey() string { return keyPrefix + "ids" }

// msgKey is a string: the captured message as JSON (Message). It lives as
// long as its id is in idsKey; the capture script deletes it when the id
// falls off the end. The script builds this key from msgKeyPrefix, which
// is why both live here.
func msgKey(id string) string { return msgKeyPrefix() + id }

func msgKeyPrefix() string { return keyPrefix + "msg:" }
