package notify_test

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/mailer"
	"github.com/longtailhq/longtail/notify"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
	"github.com/longtailhq/longtail/sendonce"
)

// TestNewRepNotifierValidates checks the wiring rules; the sends themselves
// are tested through the task handlers in package jobs, on real Redis and
// SMTP.
func TestNewRepNotifierValidates(t *testing.T) {
	t.Parallel()
	// None of these contact Redis: constructors only.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := scoring.NewEngine(rdb, scoring.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := repqueue.New(rdb, dir, engine, repqueue.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	once, err := sendonce.New(rdb, sendonce.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mailer.New(mailer.Config{URL: "smtp://127.0.0.1:1", From: "noreply@vendor.example"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	r := renderer(t)
	const page = "https://longtail.vendor.example/ui/queue"
	tests := []struct {
		name    string
		cfg     notify.RepConfig
		deps    notify.RepDeps
		wantErr string
	}{
		{"log only", notify.RepConfig{PageURL: page}, notify.RepDeps{Renderer: r, Reps: dir, Queue: q}, ""},
		{"emailing", notify.RepConfig{PageURL: page, Mode: notify.ModeDigest}, notify.RepDeps{Renderer: r, Reps: dir, Queue: q, Mailer: m, Once: once}, ""},
		{"no renderer", notify.RepConfig{PageURL: page}, notify.RepDeps{Reps: dir, Queue: q}, "required"},
		{"no directory", notify.RepConfig{PageURL: page}, notify.RepDeps{Renderer: r, Queue: q}, "required"},
		{"no queue", notify.RepConfig{PageURL: page}, notify.RepDeps{Renderer: r, Reps: dir}, "required"},
		{"mailer without send-once store", notify.RepConfig{PageURL: page}, notify.RepDeps{Renderer: r, Reps: dir, Queue: q, Mailer: m}, "Once"},
		{"unknown mode", notify.RepConfig{PageURL: page, Mode: "pager"}, notify.RepDeps{Renderer: r, Reps: dir, Queue: q}, "pager"},
		{"relative page", notify.RepConfig{PageURL: "/ui/queue"}, notify.RepDeps{Renderer: r, Reps: dir, Queue: q}, "PageURL"},
		{"no page", notify.RepConfig{}, notify.RepDeps{Renderer: r, Reps: dir, Queue: q}, "PageURL"},
	}
	for _, tt := range tests {
		_, err := notify.NewRepNotifier(tt.cfg, tt.deps)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err = %v, want one naming %q", tt.name, err, tt.wantErr)
		}
	}
}
