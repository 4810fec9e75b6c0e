package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/webhooktest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/webhook"
	"github.com/longtailhq/longtail/webhook/sendgrid"
)

// BenchmarkWebhookSendGridEdge measures the edge alone: signed 1,000-event
// SendGrid batches over real HTTP, verified, parsed, normalised and
// enqueued in Redis. Bodies are signed up front: signing is SendGrid's
// cost, not ours. Reports events/s.
func BenchmarkWebhookSendGridEdge(b *testing.B) {
	const batch = 1000
	rdb := redistest.New(b)
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	sg := webhooktest.NewSendGrid(b)
	p, err := sendgrid.New(sendgrid.Config{PublicKey: sg.PublicKey(), MaxAge: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Keys: []string{adminKey}}, httpapi.Deps{
		Ready:     func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Sink:      topicEdge(b, jobs.NewEventQueue(client, 5*time.Second)),
		Providers: []webhook.Provider{p},
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()

	// One distinct body per request so every request is a new task, not a
	// TaskID hit.
	distinct := b.N
	type signed struct {
		body []byte
		hdr  http.Header
	}
	reqs := make([]signed, distinct)
	now := time.Now()
	for i := range reqs {
		body := webhooktest.SendGridEvents(batch, 5000, now, fmt.Sprintf("bench%d-%d", now.UnixNano(), i))
		h := http.Header{"Content-Type": {"application/json"}}
		sg.Sign(h, body, now)
		reqs[i] = signed{body, h}
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport}
	var n atomic.Int64
	b.SetBytes(int64(len(reqs[0].body)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := reqs[int(n.Add(1)-1)]
			req, _ := http.NewRequest("POST", srv.URL+"/webhooks/sendgrid", bytes.NewReader(r.body))
			req.Header = r.hdr.Clone()
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
