package mailgun

// Every Redis key of the Mailgun provider is built here.
//
//	lt:webhook:mailgun:token:<token>  string  the id of the delivery that
//	                                          claimed the signature token;
//	                                          expires twice MaxAge after the
//	                                          claim
//
// Each token is a key of its own, written and deleted with single-key
// commands and scripts, so any Cluster slot will do and no hash tag is
// needed. The token is Mailgun's (it is read only after the HMAC over it
// matched), so its length and alphabet are Mailgun's too.

const keyPrefix = "lt:webhook:mailgun:"

// tokenKey holds a claimed signature token.
func tokenKey(token string) string { return keyPrefix + "token:" + token }
