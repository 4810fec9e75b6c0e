// Package program is the partner-program view of longtail: lifecycle
// stages, tier suggestions, scorecards, churn risk (the "let go" list)
// and cohort KPIs. It is pure: the caller gathers each partner's Facts
// (from Redis and the directory) and passes the time; nothing here reads
// a clock or a store, so every figure can be computed by hand in a test
// and recomputed nightly over every partner.
//
// Windows and boundaries, used by every function:
//   - "90 days" and "12 months" up to now are half-open: an event counts
//     when it is after now−90 days (now less one calendar year) and not
//     after now. Events dated after now are ignored.
//   - Quarters are calendar quarters in UTC; "the last full quarter" is
//     the one before now's.
//   - A partner's results are its deals (count and value) and purchases
//     (value: its revenue). Its first result is its first deal or
//     purchase: either makes it productive.
//   - A trend compares with a 10% tolerance band (SteadyBand).
package program
