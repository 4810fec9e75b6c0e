package webhooktest

import (
	"errors"
	"testing"

	"github.com/longtailhq/longtail/webhook"
)

// CheckResult fails t unless Handle's outcome keeps the provider contract
// for any input, as the fuzz targets send: an error is one of allowed and
// comes without a result; a result's events validate and were normalised
// before they were returned (Validate on a copy changes nothing).
func CheckResult(t testing.TB, res *webhook.Result, err error, allowed ...error) {
	t.Helper()
	if err != nil {
		known := false
		for _, a := range allowed {
			known = known || errors.Is(err, a)
		}
		if !known {
			t.Fatalf("unclassified error: %v", err)
		}
		if res != nil {
			t.Fatalf("error %v came with a result", err)
		}
		return
	}
	for i := range res.Events {
		ev := res.Events[i]
		if err := ev.Validate(); err != nil {
			t.Fatalf("event %d does not validate: %v (%+v)", i, err, ev)
		}
		if ev.Email != res.Events[i].Email {
			t.Fatalf("event %d was not normalised before return: %q", i, res.Events[i].Email)
		}
	}
}
