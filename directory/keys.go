package directory

// Every Redis key of the directory is built here and nowhere else.
//
// A partner's keys and its contacts' keys share the hash tag {p:<pid>}, so
// they live in one Redis Cluster slot: a Lua script may touch a contact,
// its partner and the partner's contact set together, and the scoring
// engine puts its own per-contact and per-partner keys under the same tag
// (see PartnerTag). The global indexes (email, contact id, the partner and
// rep sets) have no tag and are written with single-key commands only.
//
// Ids never contain '{', '}', ':' or spaces (see Validate), so a key cannot
// be forged into another partner's slot or namespace.

const keyPrefix = "lt:"

// PartnerTag returns the Redis Cluster hash tag of a partner, "{p:<pid>}".
// Keys that must sit in the same slot as a partner and its contacts embed
// it: "lt:" + PartnerTag(pid) + ":score".
func PartnerTag(partnerID string) string { return "{p:" + partnerID + "}" }

// RepTag returns the Redis Cluster hash tag of a rep, "{r:<rep>}". The
// packages that keep per-rep state (the rep queue, rep tokens, the send
// markers of a rep's digests) put it in their keys so a rep's keys share a
// slot. The directory's own rep record predates it and has no tag.
func RepTag(repID string) string { return "{r:" + repID + "}" }

// partnerKey holds the partner record.
func partnerKey(pid string) string { return keyPrefix + PartnerTag(pid) + ":partner" }

// contactKey holds a contact record, in its partner's slot.
func contactKey(pid, cid string) string { return keyPrefix + PartnerTag(pid) + ":c:" + cid }

// partnerContactsKey is the set of a partner's contact ids.
func partnerContactsKey(pid string) string { return keyPrefix + PartnerTag(pid) + ":contacts" }

// emailKey maps a normalised email to "<pid> <cid>" (see encodeHolder).
func emailKey(email string) string { return keyPrefix + "email:" + email }

// contactIDKey maps a contact id to its partner id.
func contactIDKey(cid string) string { return keyPrefix + "cid:" + cid }

// partnersKey is the set of all partner ids.
const partnersKey = keyPrefix + "partners"

// repKey holds a rep record.
func repKey(id string) string { return keyPrefix + "rep:" + id }

// repsKey is the set of all rep ids.
const repsKey = keyPrefix + "reps"
