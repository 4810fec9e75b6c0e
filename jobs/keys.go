package jobs

import "github.com/longtailhq/longtail/directory"

// Redis keys the task handlers keep of their own (asynq keeps the rest).
// Each carries the hash tag of what it belongs to.

// notifyMarkerKey holds a step's marker, in its partner's slot.
func notifyMarkerKey(partnerID, step string) string {
	return "lt:" + directory.PartnerTag(partnerID) + ":notify:" + step
}

// digestMarkerKey is the at-most-once marker of a rep's daily digest.
func digestMarkerKey(repID, step string) string {
	return "lt:{r:" + repID + "}:notify:" + step
}
