package ingest_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/csvimport"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/ingest"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/scoring"
)

// BenchmarkMemoryPerContact measures everything longtail keeps per contact
// (directory record and indexes, scores, dedup and message markers,
// explain totals, partner roll-up) at LONGTAIL_BENCH_CONTACTS contacts
// (default 100,000, five per partner), after a realistic handful of
// events each, excluding the capped timelines. Budget: 2 KB.
// Run: go test -run '^$' -bench MemoryPerContact -benchtime 1x ./ingest/
func BenchmarkMemoryPerContact(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("LONGTAIL_BENCH_CONTACTS")); err == nil && v > 0 {
		n = v
	}
	for i := 0; i < b.N; i++ {
		b.ReportMetric(memoryPerContact(b, n), "B/contact")
	}
}

func memoryPerContact(b testing.TB, n int) float64 {
	ctx := context.Background()
	rdb := redistest.New(b)
	dir, err := directory.New(rdb, directory.Config{})
	if err != nil {
		b.Fatal(err)
	}
	// No hand-offs: queued tasks are transient and not per-contact state.
	engine, err := scoring.NewEngine(rdb, scoring.Config{Threshold: 1e12}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	proc, err := ingest.NewProcessor(ingest.Config{}, dir, engine)
	if err != nil {
		b.Fatal(err)
	}
	before := usedMemory(b, rdb)

	partners := n / 5
	var pcsv, ccsv strings.Builder
	pcsv.WriteString("id,name,type,tier,region,country,timezone,owner_rep_id,tags\n")
	for p := 0; p < partners; p++ {
		fmt.Fprintf(&pcsv, "partner-%06d,Partner %d Networks,MSP,silver,emea,FR,Europe/Paris,rep-%d,smb;cloud\n", p, p, p%40)
	}
	ccsv.WriteString("id,partner_id,email,first_name,last_name,persona,timezone,locale\n")
	for c := 0; c < n; c++ {
		fmt.Fprintf(&ccsv, ",partner-%06d,firstname.lastname%d@partner%06d.example,Firstname,Lastname,technical,Europe/Paris,fr\n", c/5, c, c/5)
	}
	if _, err := csvimport.Import(ctx, dir, csvimport.KindPartners, strings.NewReader(pcsv.String()), csvimport.Options{Name: "partners"}); err != nil {
		b.Fatal(err)
	}
	if rep, err := csvimport.Import(ctx, dir, csvimport.KindContacts, strings.NewReader(ccsv.String()), csvimport.Options{Name: "contacts"}); err != nil || rep.Rejected > 0 {
		b.Fatalf("import: %v %+v", err, rep)
	}

	now := time.Now()
	batch := make([]event.Event, 0, 5000)
	for c := 0; c < n; c++ {
		email := fmt.Sprintf("firstname.lastname%d@partner%06d.example", c, c/5)
		msg := fmt.Sprintf("<%d.campaign-42@mail.vendor.example>", c)
		batch = append(batch,
			event.Event{ID: fmt.Sprintf("sendgrid:evt-%d-d", c), Type: event.EmailDelivered, Email: email, MessageID: msg, OccurredAt: now.Add(-2 * time.Hour), Source: "sendgrid"},
			event.Event{ID: fmt.Sprintf("sendgrid:evt-%d-o", c), Type: event.EmailOpen, Email: email, MessageID: msg, OccurredAt: now.Add(-time.Hour), Source: "sendgrid", Title: "Deal registration in 3 clicks"},
			event.Event{ID: fmt.Sprintf("sendgrid:evt-%d-c", c), Type: event.EmailClick, Email: email, MessageID: msg, OccurredAt: now.Add(-59 * time.Minute), Source: "sendgrid", Topic: "deal-registration", URL: "https://vendor.example/deal-registration"},
			event.Event{ID: fmt.Sprintf("web:%d-1", c), Type: event.WebVisit, Email: email, OccurredAt: now.Add(-50 * time.Minute), Source: "web", Topic: "security"},
			event.Event{ID: fmt.Sprintf("zoom:%d-w", c), Type: event.WebinarAttended, Email: email, OccurredAt: now.Add(-24 * time.Hour), Source: "zoom", Topic: "security", Title: "Securing SMB storage"},
		)
		if len(batch) == cap(batch) || c == n-1 {
			if _, err := proc.Process(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	after := usedMemory(b, rdb)
	timelines := timelineBytes(b, rdb)
	per := float64(after-before-timelines) / float64(n)
	b.Logf("%d contacts: used_memory +%d B, timelines %d B, %.0f B per contact excluding timelines", n, after-before, timelines, per)
	return per
}

func usedMemory(b testing.TB, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no used_memory in INFO")
	return 0
}

// timelineBytes sums MEMORY USAGE of every contact timeline key.
func timelineBytes(b testing.TB, rdb *redis.Client) int64 {
	ctx := context.Background()
	var total int64
	iter := rdb.Scan(ctx, 0, "lt:{p:*}:s:t:*", 5000).Iterator()
	pipe := rdb.Pipeline()
	var cmds []*redis.IntCmd
	for iter.Next(ctx) {
		cmds = append(cmds, pipe.MemoryUsage(ctx, iter.Val()))
		if len(cmds) == 5000 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
			for _, c := range cmds {
				total += c.Val()
			}
			cmds = cmds[:0]
		}
	}
	if err := iter.Err(); err != nil {
		b.Fatal(err)
	}
	if len(cmds) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
		for _, c := range cmds {
			total += c.Val()
		}
	}
	return total
}

func TestMemoryPerContactSmall(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("memory measurement")
	}
	per := memoryPerContact(t, 5000)
	t.Logf("%.0f bytes per contact at 5,000 contacts", per)
	if per <= 0 || per > 2048 {
		t.Errorf("%.0f bytes per contact, budget 2048", per)
	}
}
