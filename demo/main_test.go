package demo_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the test binary when a goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
