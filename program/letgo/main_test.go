package letgo_test

import (
	"testing"

	"github.com/longtailhq/longtail/internal/redistest"
)

// TestMain runs the tests on real Redis servers and fails the binary when
// a goroutine outlives them.
func TestMain(m *testing.M) { redistest.Main(m) }
