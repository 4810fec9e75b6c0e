package reptoken

import "github.com/longtailhq/longtail/directory"

// Every Redis key of the rep tokens is built here.
//
//	lt:{r:<rep>}:tokens  hash  token id → "<sha256 hex> <created ms>[ <revoked ms>]":
//	                           the rep's tokens, for listing and revoking by id
//	lt:rtok:<sha256>     hash  rep, id, created and revoked (ms): one token,
//	                           found by the SHA-256 (hex) of its text, which is
//	                           what authentication reads
//
// The two keys of a token are in different slots (the rep's and the
// token's own), so they are written one after the other, in the order that
// fails safe (see Issue and Revoke), never in one script. The token text
// itself is in no key and no value.

const keyPrefix = "lt:"

// repTokensKey lists a rep's tokens in the rep's slot.
func repTokensKey(repID string) string { return keyPrefix + directory.RepTag(repID) + ":tokens" }

// tokenKey holds one token, found by the SHA-256 (hex) of its text.
func tokenKey(hash string) string { return keyPrefix + "rtok:" + hash }

// linkKey holds one sign-in link, found by the SHA-256 (hex) of its code:
//
//	lt:rlink:<sha256>  string  "<rep id> <token sha256>", with the link's
//	                           expiry as the key's; deleted on first use
func linkKey(hash string) string { return keyPrefix + "rlink:" + hash }
