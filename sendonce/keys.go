package sendonce

// Every Redis key of the send-once store is built here.
//
//	lt:<tag>:notify:<id>  string  the marker of one send: "sending:<owner>:<deadline ms>",
//	                              "sent" or "uncertain" (see State)
//
// The caller chooses both parts: the {hash tag} of what the send belongs
// to, so the marker lives in that slot (a partner's hand-off email beside
// the partner, "{p:<pid>}"; a rep's digest beside the rep, "{r:<rep>}";
// a nurture step beside its contact), and the id that names the send (a
// hand-off step, a rep and a day, an enrollment step). The "notify"
// segment is the one rep notifications have always used, so markers written
// before this package existed are still honoured.
//
// A marker of any state expires after Config.Retention, which outlives the
// caller's retries; the time an attempt may take is in the marker's value,
// judged by the store's clock, not by a Redis TTL, so tests (and clusters
// whose Redis clock drifts) decide expiry by the clock the code was given.

const keyPrefix = "lt:"

// markerKey is the marker of send id in the slot of tag.
func markerKey(tag, id string) string { return keyPrefix + tag + ":notify:" + id }
