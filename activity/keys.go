package activity

// Every Redis key of the activity series is built here. All of them
// share the hash tag {act}: one page view reads every series in one
// pipeline against one node, and the writes of one batch are one
// pipeline too. They are counters (a handful of commands per batch of
// events, one per email), so keeping them on one Cluster slot costs
// little.
//
//	lt:{act}:m:<unix minute>     string  events scored in that minute
//	                                     (when longtail scored them);
//	                                     expires Config.Minutes after it
//	lt:{act}:d:<YYYY-MM-DD>:t    hash    event type → events scored that
//	                                     day (the day the event occurred,
//	                                     UTC)
//	lt:{act}:d:<YYYY-MM-DD>:i    hash    topic → interest points credited
//	                                     that day (before decay)
//	lt:{act}:d:<YYYY-MM-DD>:e    hash    email result (sent, deferred,
//	                                     failed, uncertain) → emails that
//	                                     day (the day of the attempt)
//
// Day keys expire Config.Days after their day ends, so the series keep
// a bounded window whatever the traffic.

import (
	"strconv"
	"time"
)

const keyPrefix = "lt:{act}:"

func minuteKey(minute int64) string { return keyPrefix + "m:" + strconv.FormatInt(minute, 10) }

func dayTypesKey(day string) string  { return keyPrefix + "d:" + day + ":t" }
func dayTopicsKey(day string) string { return keyPrefix + "d:" + day + ":i" }
func dayEmailsKey(day string) string { return keyPrefix + "d:" + day + ":e" }

// dayOf is the UTC calendar day of t, as day keys name it.
func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }
