package activity

import (
	"testing"

	"github.com/longtailhq/longtail/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }
