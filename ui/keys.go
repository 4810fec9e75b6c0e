package ui

// Every Redis key of the rep pages, all under lt:ui:. A session's keys
// share the {hash tag} of the session so a sign-out deletes them in one
// command on Redis Cluster too.
//
// The session id itself never appears in a key: keys carry the hex SHA-256
// of it, so reading Redis (a dump, MONITOR, a replica) does not hand out
// live session cookies.

const keyPrefix = "lt:ui:"

// sessionKey is a hash: rep, tok (hex SHA-256 of the sign-in token), csrf,
// created (Unix ms). It expires SessionTTL after sign-in.
func sessionKey(sidHash string) string { return keyPrefix + "session:{" + sidHash + "}" }

// flashKey holds the one-shot message shown by the next queue page.
func flashKey(sidHash string) string { return keyPrefix + "flash:{" + sidHash + "}" }
