package zoom

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
)

const fixtures = "../../testdata/webhooks/zoom"

// Vector 1 of testdata/webhooks/zoom/signature-vectors/vectors.json.
const (
	vectorSecret = "4fv1RkqGQUq5sWbEz6hA5A"
	vectorTS     = "1720705455"
	vectorSig    = "v0=93a1a675965ceb9c5a50c5dfb31f20e50f763be37a54ef74cd2d16a1a8e5c0d6"
)

const testSecret = "test-secret-token"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newProvider(t testing.TB, cfg Config) *Provider {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func request(body []byte, ts, sig string, now time.Time) *webhook.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if ts != "" {
		h.Set(TimestampHeader, ts)
	}
	if sig != "" {
		h.Set(SignatureHeader, sig)
	}
	return &webhook.Request{Method: http.MethodPost, URL: "/webhooks/zoom", Header: h, Body: body, Now: now}
}

// sign follows Zoom's documented scheme, independently of Provider.verify.
func sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

func signed(secret string, body []byte, at time.Time) *webhook.Request {
	ts := strconv.FormatInt(at.Unix(), 10)
	return request(body, ts, sign(secret, ts, body), at)
}

func TestVector(t *testing.T) {
	t.Parallel()
	body := readFixture(t, "signature-vectors/zoomnet-1-endpoint.url_validation.body")
	signedAt := time.Unix(1720705455, 0)
	now := signedAt.Add(30 * time.Second)
	p := newProvider(t, Config{SecretToken: vectorSecret, MaxAge: 5 * time.Minute})
	ctx := context.Background()

	if got := sign(vectorSecret, vectorTS, body); got != vectorSig {
		t.Fatalf("test signer gives %s, vector says %s", got, vectorSig)
	}
	res, err := p.Handle(ctx, request(body, vectorTS, vectorSig, now))
	if err != nil {
		t.Fatalf("vector rejected: %v", err)
	}
	if res.Reply == nil {
		t.Fatal("no reply to endpoint.url_validation")
	}
	if res.Reply.Status != http.StatusOK || res.Reply.ContentType != "application/json" {
		t.Errorf("reply status %d, content type %q", res.Reply.Status, res.Reply.ContentType)
	}
	// The expected token is the DERIVED self-consistency vector in vectors.json.
	want := `{"plainToken":"xys8n8PGS7mAU0m5-YJjRA","encryptedToken":"2fffc6a967dde4f68024025a5bd991c5ae1e5313b4e6365be4883e3e81d479b3"}`
	if string(res.Reply.Body) != want {
		t.Errorf("reply body\n got %s\nwant %s", res.Reply.Body, want)
	}
	if len(res.Events) != 0 {
		t.Errorf("url validation yielded events: %v", res.Events)
	}

	unauthorized := func(t *testing.T, req *webhook.Request) {
		t.Helper()
		res, err := p.Handle(ctx, req)
		if !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("got %v (%+v), want ErrUnauthorized", err, res)
		}
	}
	t.Run("invalid_signature_hash", func(t *testing.T) {
		t.Parallel()
		unauthorized(t, request(body, vectorTS, "v0=invalid_signature_hash", now))
	})
	t.Run("every flipped body byte", func(t *testing.T) {
		t.Parallel()
		for i := range body {
			b := append([]byte(nil), body...)
			b[i] ^= 0x01
			unauthorized(t, request(b, vectorTS, vectorSig, now))
		}
	})
	t.Run("every flipped signature byte", func(t *testing.T) {
		t.Parallel()
		raw, _ := hex.DecodeString(strings.TrimPrefix(vectorSig, "v0="))
		for i := range raw {
			s := append([]byte(nil), raw...)
			s[i] ^= 0x01
			unauthorized(t, request(body, vectorTS, "v0="+hex.EncodeToString(s), now))
		}
	})
	t.Run("every flipped timestamp byte", func(t *testing.T) {
		t.Parallel()
		for i := range len(vectorTS) {
			ts := []byte(vectorTS)
			ts[i] ^= 0x01
			unauthorized(t, request(body, string(ts), vectorSig, now))
		}
	})
	t.Run("malformed headers", func(t *testing.T) {
		t.Parallel()
		unauthorized(t, request(body, "", vectorSig, now))
		unauthorized(t, request(body, vectorTS, "", now))
		unauthorized(t, request(body, vectorTS, strings.TrimPrefix(vectorSig, "v0="), now))
		unauthorized(t, request(body, vectorTS, "v1="+strings.TrimPrefix(vectorSig, "v0="), now))
	})
	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		_, err := newProvider(t, Config{SecretToken: testSecret}).Handle(ctx, request(body, vectorTS, vectorSig, now))
		if !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
	})
}

func TestBeatsCRCVector(t *testing.T) {
	t.Parallel()
	var vectors map[string][]map[string]string
	if err := json.Unmarshal(readFixture(t, "signature-vectors/vectors.json"), &vectors); err != nil {
		t.Fatal(err)
	}
	var beats map[string]string
	for _, v := range vectors["endpoint.url_validation response vectors"] {
		if strings.HasPrefix(v["source"], "elastic/beats") {
			beats = v
		}
	}
	if beats == nil {
		t.Fatal("beats vector not found in vectors.json")
	}
	// The documented request carries the beats plainToken; Zoom would sign it
	// with the same secret.
	body := readFixture(t, "docs-url-validation/request.json")
	at := time.Unix(1654503849, 0)
	res, err := newProvider(t, Config{SecretToken: beats["secret_token"]}).Handle(context.Background(), signed(beats["secret_token"], body, at))
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]string
	if err := json.Unmarshal(res.Reply.Body, &got); err != nil {
		t.Fatalf("reply is not JSON: %v", err)
	}
	if err := json.Unmarshal([]byte(beats["expected_response_body"]), &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reply (-want, +got):\n%s", diff)
	}
}

func TestSamplePayloads(t *testing.T) {
	t.Parallel()
	joined := time.Date(2021, 7, 13, 21, 44, 51, 0, time.UTC)
	const webinarUUID = "4444AAAiAAAAAiAiAiiAii=="
	tests := []struct {
		file        string
		wantEvents  []event.Event
		wantIgnored map[string]int
		wantReply   bool
	}{
		{file: "endpoint.url_validation.json", wantReply: true},
		{file: "meeting.participant_joined.json", wantIgnored: map[string]int{"meeting.participant_joined": 1}},
		{file: "webinar.ended.json", wantIgnored: map[string]int{"webinar.ended": 1}},
		{file: "webinar.started.json", wantIgnored: map[string]int{"webinar.started": 1}},
		{file: "webinar.participant_left.json", wantIgnored: map[string]int{"webinar.participant_left": 1}},
		{file: "webinar.registration_approved.json", wantIgnored: map[string]int{"webinar.registration_approved": 1}},
		{file: "webinar.registration_cancelled.json", wantIgnored: map[string]int{"webinar.registration_cancelled": 1}},
		{file: "webinar.registration_created.json", wantEvents: []event.Event{{
			ID:   event.HashID("zoom", "webinar.registration_created", webinarUUID, "jchill@example.com", "iFxeBPYun6SAiWUzBcEkX"),
			Type: event.WebinarRegistered, Email: "jchill@example.com", OccurredAt: time.UnixMilli(1626230691572).UTC(),
			Source: "zoom", Title: "My Webinar",
		}}},
		{file: "webinar.participant_joined.json", wantEvents: []event.Event{{
			ID:   event.HashID("zoom", "webinar.participant_joined", webinarUUID, "jchill@example.com", "2021-07-13T21:44:51Z"),
			Type: event.WebinarAttended, Email: "jchill@example.com", OccurredAt: joined, Source: "zoom", Title: "My Webinar",
		}}},
	}
	p := newProvider(t, Config{SecretToken: testSecret, MaxAge: time.Minute})
	now := time.Date(2021, 7, 14, 0, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			body := readFixture(t, "zoomnet-sample-payloads/"+tc.file)
			res, err := p.Handle(context.Background(), signed(testSecret, body, now))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantEvents, res.Events); diff != "" {
				t.Errorf("events (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantIgnored, res.Ignored); diff != "" {
				t.Errorf("ignored (-want, +got):\n%s", diff)
			}
			if (res.Reply != nil) != tc.wantReply {
				t.Errorf("reply = %+v, want reply: %v", res.Reply, tc.wantReply)
			}
			// A retry of the same delivery must give the same ids.
			again, err := p.Handle(context.Background(), signed(testSecret, body, now.Add(10*time.Second)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(res.Events, again.Events); diff != "" {
				t.Errorf("redelivery differs (-first, +second):\n%s", diff)
			}
		})
	}
}

func TestReplayWindow(t *testing.T) {
	t.Parallel()
	body := readFixture(t, "zoomnet-sample-payloads/webinar.participant_joined.json")
	signedAt := time.Unix(1720705455, 0)
	ts := strconv.FormatInt(signedAt.Unix(), 10)
	sig := sign(testSecret, ts, body)
	tests := []struct {
		name   string
		maxAge time.Duration
		now    time.Time
		ok     bool
	}{
		{"fresh", 5 * time.Minute, signedAt.Add(4 * time.Minute), true},
		{"at the edge", 5 * time.Minute, signedAt.Add(5 * time.Minute), true},
		{"too old", 5 * time.Minute, signedAt.Add(5*time.Minute + time.Second), false},
		{"from the future", 5 * time.Minute, signedAt.Add(-6 * time.Minute), false},
		{"window disabled", 0, signedAt.Add(24 * 365 * time.Hour), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, Config{SecretToken: testSecret, MaxAge: tc.maxAge})
			_, err := p.Handle(context.Background(), request(body, ts, sig, tc.now))
			if tc.ok && err != nil {
				t.Fatalf("got %v, want accepted", err)
			}
			if !tc.ok && !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("got %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestPayloads(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name        string
		body        string
		wantErr     string
		wantEvent   *event.Event
		wantIgnored map[string]int
	}{
		{name: "not json", body: `event=x`, wantErr: "not a JSON event"},
		{name: "no event", body: `{"payload":{}}`, wantErr: `"event" is missing`},
		{name: "validation without token", body: `{"event":"endpoint.url_validation","payload":{}}`, wantErr: "plainToken"},
		{name: "no object", body: `{"event":"webinar.registration_created","event_ts":1,"payload":{}}`, wantErr: "payload.object"},
		{name: "no webinar key", body: `{"event":"webinar.registration_created","event_ts":1,"payload":{"object":{"registrant":{"email":"a@b.example"}}}}`, wantErr: "uuid nor id"},
		{name: "registrant without email", body: `{"event":"webinar.registration_created","event_ts":1,"payload":{"object":{"id":1,"registrant":{"id":"r"}}}}`, wantErr: "registrant.email"},
		{name: "registration without event_ts", body: `{"event":"webinar.registration_created","payload":{"object":{"id":1,"registrant":{"email":"a@b.example"}}}}`, wantErr: "event_ts"},
		{name: "registrant with bad email", body: `{"event":"webinar.registration_created","event_ts":1,"payload":{"object":{"id":1,"registrant":{"email":"jill"}}}}`, wantErr: "email"},
		{name: "join without participant", body: `{"event":"webinar.participant_joined","event_ts":1,"payload":{"object":{"id":"1"}}}`, wantErr: "participant"},
		{name: "join with bad join_time", body: `{"event":"webinar.participant_joined","payload":{"object":{"id":"1","participant":{"email":"a@b.example","join_time":"yesterday"}}}}`, wantErr: "join_time"},
		{
			name:        "join without email",
			body:        `{"event":"webinar.participant_joined","event_ts":1626230691572,"payload":{"object":{"id":"1","participant":{"user_name":"Dial-in","join_time":"2021-07-13T21:44:51Z"}}}}`,
			wantIgnored: map[string]int{IgnoredNoEmail: 1},
		},
		{
			name: "join without join_time, numeric id, upper-case email",
			body: `{"event":"webinar.participant_joined","event_ts":1626230691572,"payload":{"object":{"id":987,"topic":"Security 101","participant":{"email":"Jill@Example.COM"}}}}`,
			wantEvent: &event.Event{
				ID:   event.HashID("zoom", "webinar.participant_joined", "987", "jill@example.com", "1626230691572"),
				Type: event.WebinarAttended, Email: "jill@example.com", OccurredAt: time.UnixMilli(1626230691572).UTC(), Source: "zoom", Title: "Security 101",
			},
		},
	}
	p := newProvider(t, Config{SecretToken: testSecret})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := p.Handle(context.Background(), signed(testSecret, []byte(tc.body), now))
			if tc.wantErr != "" {
				if !errors.Is(err, webhook.ErrBadPayload) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want ErrBadPayload mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want []event.Event
			if tc.wantEvent != nil {
				want = []event.Event{*tc.wantEvent}
			}
			if diff := cmp.Diff(want, res.Events); diff != "" {
				t.Errorf("events (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantIgnored, res.Ignored); diff != "" {
				t.Errorf("ignored (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "Config.SecretToken") {
		t.Errorf("empty secret: %v", err)
	}
	if _, err := New(Config{SecretToken: "s", MaxAge: -time.Second}); err == nil || !strings.Contains(err.Error(), "Config.MaxAge") {
		t.Errorf("negative MaxAge: %v", err)
	}
	if p := newProvider(t, Config{SecretToken: "s"}); p.Name() != "zoom" {
		t.Errorf("Name() = %q", p.Name())
	}
}
