package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
)

// BenchmarkEventToQueue measures, through the whole service, the time from
// posting the event that takes a partner over the threshold to that
// partner's entry in its rep's queue, while background traffic holds the
// service at a steady events/s (LONGTAIL_BENCH_RATE, default 5000) for
// LONGTAIL_BENCH_SECONDS (default 10). Reports p50/p99 latency in ms. Each
// b.N iteration is one such run; use -benchtime 1x.
func BenchmarkEventToQueue(b *testing.B) {
	rate := envInt("LONGTAIL_BENCH_RATE", 5000)
	seconds := envInt("LONGTAIL_BENCH_SECONDS", 10)
	for i := 0; i < b.N; i++ {
		p50, p99, achieved := eventToQueueRun(b, rate, seconds)
		b.ReportMetric(p50, "p50-ms")
		b.ReportMetric(p99, "p99-ms")
		b.ReportMetric(achieved, "events/s")
	}
}

func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(name), &v); err == nil && v > 0 {
		return v
	}
	return def
}

func eventToQueueRun(b *testing.B, rate, seconds int) (p50, p99, achieved float64) {
	b.Helper()
	cfgPath := filepath.Join(b.TempDir(), "longtail.yaml")
	if err := os.WriteFile(cfgPath, []byte("handoff:\n  business_hours: {start: \"00:00\", end: \"24:00\", days: [mon, tue, wed, thu, fri, sat, sun]}\nworker:\n  concurrency: 20\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	s := startService(b, "LONGTAIL_CONFIG="+cfgPath, "LONGTAIL_REDIS_URL="+redistest.URL(b))
	hot := seconds * 20 // 20 crossings a second
	put := func(path, body string) {
		if code := postB(b, s, "PUT", path, body); code != 200 {
			b.Fatalf("PUT %s = %d", path, code)
		}
	}
	put("/v1/reps/bench-rep", `{"name":"Bench Rep","email":"rep@vendor.example","daily_capacity":10000,"active":true}`)
	var warm strings.Builder
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := 0; i < hot; i++ {
		put(fmt.Sprintf("/v1/partners/hot%d", i), `{"name":"Hot `+fmt.Sprint(i)+`","owner_rep_id":"bench-rep"}`)
		put(fmt.Sprintf("/v1/contacts/hc%d", i), fmt.Sprintf(`{"partner_id":"hot%d","email":"h%d@hot.example"}`, i, i))
		// 25 points: the next webinar (10) crosses 30.
		for j, typ := range []string{"webinar.attended", "webinar.attended", "email.click"} {
			fmt.Fprintf(&warm, `{"id":"warm-%d-%d","type":%q,"contact_id":"hc%d","occurred_at":%q}`+"\n", i, j, typ, i, now)
		}
	}
	const background = 2000
	for i := 0; i < background; i++ {
		fmt.Fprintf(&warm, `{"id":"bgwarm-%d","type":"email.delivered","email":"bg%d@tail.example","occurred_at":%q}`+"\n", i, i, now)
	}
	postEvents(b, s, warm.String())
	waitWarm(b, s, fmt.Sprintf("hc%d", hot-1), fmt.Sprintf("bg%d@tail.example", background-1))

	// The load: every 10ms a batch; crossing events spread evenly.
	perTick := rate / 100
	ticks := seconds * 100
	posted := make(map[string]time.Time, hot)
	next := 0
	start := time.Now()
	sent := 0
	for tick := 0; tick < ticks; tick++ {
		var batch strings.Builder
		at := time.Now().UTC().Format(time.RFC3339Nano)
		n := perTick
		crossing := ""
		if tick%5 == 0 && next < hot { // 20 per second
			crossing = fmt.Sprintf("hot%d", next)
			fmt.Fprintf(&batch, `{"id":"cross-%d","type":"webinar.attended","contact_id":"hc%d","occurred_at":%q}`+"\n", next, next, at)
			next++
			n--
		}
		for j := 0; j < n; j++ {
			k := (tick*perTick + j) % background
			typ := "email.open"
			if j%4 == 0 {
				typ = "web.visit"
			}
			fmt.Fprintf(&batch, `{"id":"bg-%d-%d","type":%q,"email":"bg%d@tail.example","occurred_at":%q,"message_id":"m%d"}`+"\n", tick, j, typ, k, at, tick)
		}
		sendAt := time.Now()
		postEvents(b, s, batch.String())
		if crossing != "" {
			posted[crossing] = sendAt
		}
		sent += perTick
		// Pacing the load to its rate, not waiting for work: the service
		// is measured while it keeps up.
		if d := time.Until(start.Add(time.Duration(tick+1) * 10 * time.Millisecond)); d > 0 {
			time.Sleep(d)
		}
	}
	achieved = float64(sent) / time.Since(start).Seconds()
	entries := waitIdle(b, s, hot)
	var lat []float64
	for _, e := range entries {
		if p, ok := posted[e.PartnerID]; ok {
			lat = append(lat, float64(e.QueuedAt.Sub(p))/float64(time.Millisecond))
		}
	}
	if len(lat) != hot {
		b.Fatalf("%d of %d crossings reached the queue", len(lat), hot)
	}
	sort.Float64s(lat)
	return lat[len(lat)/2], lat[(len(lat)*99+99)/100-1], achieved
}

// waitWarm waits until the warm-up events are applied: every ingest task
// has run, the last hot contact holds its 25 points and the last
// background contact exists.
func waitWarm(b *testing.B, s *service, hotContact, bgEmail string) {
	b.Helper()
	eventually(b, 60*time.Second, func() error {
		st, err := s.queueState(b, jobs.QueueIngest)
		if err != nil || st.Waiting > 0 {
			return errorf("warm-up not applied yet: %+v %v", st, err)
		}
		return nil
	})
	var c struct{ Score float64 }
	if code := s.do(b, "GET", "/v1/contacts/"+hotContact, "", nil, &c); code != 200 || c.Score < 24.9 {
		b.Fatalf("after the warm-up %s = %d, score %.2f; want 25", hotContact, code, c.Score)
	}
	if code := s.do(b, "GET", "/v1/contacts/"+bgEmail, "", nil, nil); code != 200 {
		b.Fatalf("after the warm-up %s = %d", bgEmail, code)
	}
}

type benchEntry struct {
	PartnerID string    `json:"partner_id"`
	QueuedAt  time.Time `json:"queued_at"`
}

// waitIdle waits until the rep's queue holds want entries.
func waitIdle(b *testing.B, s *service, want int) []benchEntry {
	b.Helper()
	var q struct{ Items []benchEntry }
	eventually(b, 60*time.Second, func() error {
		s.do(b, "GET", "/v1/reps/bench-rep/queue", "", nil, &q)
		if len(q.Items) < want {
			return errorf("%d of %d crossings reached the queue", len(q.Items), want)
		}
		return nil
	})
	return q.Items
}

func postEvents(b *testing.B, s *service, ndjson string) {
	b.Helper()
	if code := postB(b, s, "POST", "/v1/events", ndjson); code != 200 {
		b.Fatalf("POST /v1/events = %d", code)
	}
}

func postB(b *testing.B, s *service, method, path, body string) int {
	req, _ := http.NewRequest(method, s.URL+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	if strings.HasPrefix(body, "{") && !strings.Contains(body, "\n") {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(resp.Body)
		b.Logf("%s %s: %d %s", method, path, resp.StatusCode, msg)
	}
	return resp.StatusCode
}
