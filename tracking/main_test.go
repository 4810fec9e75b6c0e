package tracking_test

import (
	"testing"

	"github.com/longtailhq/longtail/internal/redistest"
)

// The unsubscribe tests run against a real Redis (redistest); Main also
// fails the binary when a goroutine outlives the tests.
func TestMain(m *testing.M) { redistest.Main(m) }
