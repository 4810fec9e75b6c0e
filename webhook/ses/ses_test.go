package ses

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/webhook"
)

const awsCertName = "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"

// vectorNow is when the real vectors were signed; the AWS certificate has
// expired since, which a pinned certificate is allowed to be.
var vectorNow = time.Date(2022, 7, 29, 0, 0, 0, 0, time.UTC)

func awsCertDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	pemBytes := readFixture(t, "sns-signature-vectors/"+awsCertName)
	if err := os.WriteFile(filepath.Join(dir, awsCertName), pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// valueRange finds the string value of "key" in a fixture body.
func valueRange(t *testing.T, body []byte, key string) (int, int) {
	t.Helper()
	marker := []byte(`"` + key + `": "`)
	i := bytes.Index(body, marker)
	if i < 0 || bytes.Contains(body[i+1:], marker) {
		t.Fatalf("%s not found exactly once", key)
	}
	start := i + len(marker)
	end := start + bytes.IndexByte(body[start:], '"')
	return start, end
}

func TestSignatureVectors(t *testing.T) {
	t.Parallel()
	files := []string{
		"http-notification-1-sigv1.json",
		"http-notification-2-sigv2.json",
		"lambda-style-notification-1-sigv1.json",
		"lambda-style-notification-3-sigv1-subject-null.json",
		"lambda-style-notification-5-sigv1-with-subject.json",
	}
	p := newProvider(t, Config{CertDir: awsCertDir(t), HTTPClient: refusingClient(t)})
	ctx := context.Background()
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := readFixture(t, "sns-signature-vectors/"+name)
			res, err := p.Handle(ctx, post(body, vectorNow))
			if err != nil {
				t.Fatalf("real vector rejected: %v", err)
			}
			// "Hello world" is authentic but not an SES record.
			if len(res.Events) != 0 || !cmp.Equal(res.Ignored, map[string]int{IgnoredNotSES: 1}) {
				t.Fatalf("result = %+v, want one ignored %s", res, IgnoredNotSES)
			}
			unauthorized := func(t *testing.T, b []byte) {
				t.Helper()
				if _, err := p.Handle(ctx, post(b, vectorNow)); !errors.Is(err, webhook.ErrUnauthorized) {
					t.Fatalf("got %v, want ErrUnauthorized", err)
				}
			}
			for _, key := range []string{"Message", "Timestamp"} {
				start, end := valueRange(t, body, key)
				for i := start; i < end; i++ {
					b := bytes.Clone(body)
					b[i] ^= 0x01
					unauthorized(t, b)
				}
			}
			start, end := valueRange(t, body, "Signature")
			sig, err := base64.StdEncoding.DecodeString(string(body[start:end]))
			if err != nil {
				t.Fatal(err)
			}
			for i := range sig {
				s := bytes.Clone(sig)
				s[i] ^= 0x01
				b := bytes.Replace(body, body[start:end], []byte(base64.StdEncoding.EncodeToString(s)), 1)
				unauthorized(t, b)
			}
			// The version selects the hash; the other one cannot match.
			if bytes.Contains(body, []byte(`"SignatureVersion": "1"`)) {
				unauthorized(t, bytes.Replace(body, []byte(`"SignatureVersion": "1"`), []byte(`"SignatureVersion": "2"`), 1))
			} else {
				unauthorized(t, bytes.Replace(body, []byte(`"SignatureVersion": "2"`), []byte(`"SignatureVersion": "1"`), 1))
			}
		})
	}
	t.Run("subject added to a message signed without one", func(t *testing.T) {
		t.Parallel()
		body := readFixture(t, "sns-signature-vectors/lambda-style-notification-3-sigv1-subject-null.json")
		b := bytes.Replace(body, []byte(`"Subject": null`), []byte(`"Subject": ""`), 1)
		if _, err := p.Handle(ctx, post(b, vectorNow)); !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
	})
	t.Run("certificate not pinned", func(t *testing.T) {
		t.Parallel()
		empty := newProvider(t, Config{CertDir: t.TempDir(), HTTPClient: refusingClient(t)})
		_, err := empty.Handle(ctx, post(readFixture(t, "sns-signature-vectors/"+files[0]), vectorNow))
		if !errors.Is(err, webhook.ErrUnauthorized) || !strings.Contains(err.Error(), "not pinned") {
			t.Fatalf("got %v, want ErrUnauthorized naming the missing pin", err)
		}
	})
}

func TestCertURLRefusedWithoutFetch(t *testing.T) {
	t.Parallel()
	body := readFixture(t, "sns-signature-vectors/http-notification-2-sigv2.json")
	const real = "https://sns.us-east-2.amazonaws.com/" + awsCertName
	if !bytes.Contains(body, []byte(real)) {
		t.Fatal("fixture changed")
	}
	urls := []string{
		"http://sns.us-east-2.amazonaws.com/" + awsCertName,
		"https://sns.us-east-1.amazonaws.com.evil.example/" + awsCertName,
		"https://evil.example/" + awsCertName,
		"https://sns.us-east-2.amazonaws.com@evil.example/" + awsCertName,
		"https://user@sns.us-east-2.amazonaws.com/" + awsCertName,
		"https://sns.us-east-2.amazonaws.com:8443/" + awsCertName,
		"https://sqs.us-east-2.amazonaws.com/" + awsCertName,
		"https://sns.amazonaws.com/" + awsCertName,
		"https://evilsns.us-east-2.amazonaws.com/" + awsCertName,
		"https://sns.us-east-2.amazonaws.com/" + awsCertName + "?x=1",
		"https://sns.us-east-2.amazonaws.com/cert.txt",
		"file:///etc/passwd",
		"",
	}
	// Both modes apply the host rule: fetching (where a request would be
	// a test failure) and pinned, with the real certificate present under
	// its name.
	fetching := newProvider(t, Config{HTTPClient: refusingClient(t)})
	pinned := newProvider(t, Config{CertDir: awsCertDir(t), HTTPClient: refusingClient(t)})
	for _, u := range urls {
		b := bytes.Replace(body, []byte(real), []byte(u), 1)
		for name, p := range map[string]*Provider{"fetching": fetching, "pinned": pinned} {
			_, err := p.Handle(context.Background(), post(b, vectorNow))
			if !errors.Is(err, webhook.ErrUnauthorized) {
				t.Errorf("%s, %q: got %v, want ErrUnauthorized", name, u, err)
			}
		}
	}
}

func TestPlaceholderExamples(t *testing.T) {
	t.Parallel()
	// A certificate is pinned under the examples' name, so only the
	// placeholder signatures can be what fails.
	dir := t.TempDir()
	signer := newPinnedSigner(t, 2048)
	if err := os.WriteFile(filepath.Join(dir, "SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"), pemOf(signer.cert), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, Config{CertDir: dir, HTTPClient: refusingClient(t)})
	for _, name := range []string{"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"} {
		for _, file := range []string{name + ".body.json", name + ".http"} {
			body := readFixture(t, "sns-http-examples/"+file)
			if strings.HasSuffix(file, ".http") {
				_, after, ok := bytes.Cut(body, []byte("\n\n"))
				if !ok {
					t.Fatalf("%s: no blank line after the headers", file)
				}
				body = after
			}
			res, err := p.Handle(context.Background(), post(body, time.Date(2012, 5, 2, 0, 0, 0, 0, time.UTC)))
			if !errors.Is(err, webhook.ErrUnauthorized) {
				t.Errorf("%s: got %v (%+v), want ErrUnauthorized", file, err, res)
			}
		}
	}
}

func TestSESEvents(t *testing.T) {
	t.Parallel()
	signer := newPinnedSigner(t, 2048)
	p := newProvider(t, Config{CertDir: signer.dir, HTTPClient: refusingClient(t), TopicARNs: []string{testTopic}})
	const msgID = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
	const rcpt = "recipient@example.com"
	const subject = "Message sent from Amazon SES"
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	custom := []string{"myCustomTag1:myCustomTagValue1", "myCustomTag2:myCustomTagValue2"}
	customClick := []string{"myCustomTag1:myCustomValue1", "myCustomTag2:myCustomValue2"}
	tests := []struct {
		file        string
		wantEvents  []event.Event
		wantIgnored map[string]int
	}{
		{file: "bounce.json", wantEvents: []event.Event{{
			ID: event.HashID("ses", "Bounce", msgID, rcpt, "2017-08-05T00:41:02.669Z", ""), Type: event.EmailBounce, Email: rcpt,
			OccurredAt: at("2017-08-05T00:41:02.669Z"), Source: "ses", MessageID: msgID, Title: subject, Bounce: event.BounceHard,
		}}},
		{file: "complaint.json", wantEvents: []event.Event{{
			ID: event.HashID("ses", "Complaint", msgID, rcpt, "2017-08-05T00:41:02.669Z", ""), Type: event.EmailSpam, Email: rcpt,
			OccurredAt: at("2017-08-05T00:41:02.669Z"), Source: "ses", MessageID: msgID, Title: subject,
		}}},
		{file: "delivery.json", wantEvents: []event.Event{{
			ID: event.HashID("ses", "Delivery", msgID, rcpt, "2016-10-19T23:21:04.133Z", ""), Type: event.EmailDelivered, Email: rcpt,
			OccurredAt: at("2016-10-19T23:21:04.133Z"), Source: "ses", MessageID: msgID, Title: subject, Tags: custom,
		}}},
		{file: "open.json", wantEvents: []event.Event{{
			ID: event.HashID("ses", "Open", msgID, rcpt, "2017-08-09T22:00:19.652Z", ""), Type: event.EmailOpen, Email: rcpt,
			OccurredAt: at("2017-08-09T22:00:19.652Z"), Source: "ses", MessageID: msgID, Title: subject, Tags: customClick,
			IP: "192.0.2.1", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X) AppleWebKit/603.3.8 (KHTML, like Gecko) Mobile/14G60",
		}}},
		{file: "click.json", wantEvents: []event.Event{{
			ID:   event.HashID("ses", "Click", msgID, rcpt, "2017-08-09T23:51:25.570Z", "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html"),
			Type: event.EmailClick, Email: rcpt, OccurredAt: at("2017-08-09T23:51:25.570Z"), Source: "ses", MessageID: msgID, Title: subject,
			URL:  "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html",
			Tags: append(append([]string(nil), customClick...), "samplekey0:samplevalue0", "samplekey1:samplevalue1"),
			IP:   "192.0.2.1", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.90 Safari/537.36",
		}}},
		{file: "subscription.json", wantEvents: []event.Event{{
			ID:   event.HashID("ses", "Subscription", "EXAMPLEe4bccb684-777bc8de-afa7-4970-92b0-f515137b1497-000000", rcpt, "2022-01-12T01:00:17.910Z", ""),
			Type: event.EmailUnsubscribe, Email: rcpt, OccurredAt: at("2022-01-12T01:00:17.910Z"), Source: "ses",
			MessageID: "EXAMPLEe4bccb684-777bc8de-afa7-4970-92b0-f515137b1497-000000", Title: subject, Tags: customClick,
		}}},
		{file: "send.json", wantIgnored: map[string]int{"Send": 1}},
		{file: "reject.json", wantIgnored: map[string]int{"Reject": 1}},
		{file: "rendering-failure.json", wantIgnored: map[string]int{"Rendering Failure": 1}},
		{file: "delivery-delay.json", wantIgnored: map[string]int{"DeliveryDelay": 1}},
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 31, 3, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			record := string(readFixture(t, "ses-event-publishing-examples/"+tc.file))
			res, err := p.Handle(ctx, post(notification(record).sign(t, signer.key), now))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantEvents, res.Events); diff != "" {
				t.Errorf("events (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantIgnored, res.Ignored); diff != "" {
				t.Errorf("ignored (-want, +got):\n%s", diff)
			}

			// SNS redelivers the same record, possibly in a new envelope
			// signed with SignatureVersion 1: same facts, same ids.
			again := notification(record)
			again.MessageID, again.Timestamp, again.Version = "another-sns-id", "2026-11-20T09:35:00.000Z", "1"
			subj := "Amazon SES Email Event Notification"
			again.Subject = &subj
			res2, err := p.Handle(ctx, post(again.sign(t, signer.key), now))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(res.Events, res2.Events); diff != "" {
				t.Errorf("redelivery differs (-first, +second):\n%s", diff)
			}

			// The older feedback notifications carry the same record under
			// notificationType and describe the same fact.
			if strings.Contains(record, `"eventType"`) && len(tc.wantEvents) > 0 {
				old := strings.Replace(record, `"eventType"`, `"notificationType"`, 1)
				res3, err := p.Handle(ctx, post(notification(old).sign(t, signer.key), now))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(res.Events, res3.Events); diff != "" {
					t.Errorf("notificationType differs (-eventType, +notificationType):\n%s", diff)
				}
			}
		})
	}
}

func TestNormalisation(t *testing.T) {
	t.Parallel()
	signer := newPinnedSigner(t, 2048)
	p := newProvider(t, Config{CertDir: signer.dir, HTTPClient: refusingClient(t)})
	const ts = "2026-11-20T09:31:02.5Z"
	occurred := time.Date(2026, 11, 20, 9, 31, 2, 5e8, time.UTC)
	tests := []struct {
		name        string
		record      string
		want        []event.Event
		wantIgnored map[string]int
		wantErr     string
	}{
		{
			name: "tags and headers carry correlation",
			record: `{"eventType":"Click","mail":{"messageId":"m1","destination":["Jane Doe <Jane@Acme.Example>"],
			  "commonHeaders":{"subject":"Deal registration"},
			  "tags":{"lt_contact":["c-42","ignored"],"lt_step":["welcome"],"campaign":["q4"],"ses:configuration-set":["cs"]},
			  "headers":[{"name":"x-lt-flow","value":"msp-onboarding"},{"name":"X-LT-Step","value":"from-header"},{"name":"X-LT-Message","value":"lt-9"}]},
			  "click":{"link":"https://vendor.example/security","linkTags":{"topic":["security","storage"],"lt_flow":["x"]},"timestamp":"` + ts + `"}}`,
			want: []event.Event{{
				ID:   event.HashID("ses", "Click", "m1", "jane@acme.example", ts, "https://vendor.example/security"),
				Type: event.EmailClick, Email: "jane@acme.example", ContactID: "c-42", OccurredAt: occurred, URL: "https://vendor.example/security",
				Source: "ses", Flow: "msp-onboarding", Step: "welcome", MessageID: "lt-9", Title: "Deal registration",
				Tags: []string{"campaign:q4", "topic:security", "topic:storage"},
			}},
		},
		{
			name:   "one delivery, two recipients",
			record: `{"eventType":"Delivery","mail":{"messageId":"m2","timestamp":"` + ts + `"},"delivery":{"recipients":["a@x.example","B@x.example"]}}`,
			want: []event.Event{
				{ID: event.HashID("ses", "Delivery", "m2", "a@x.example", ts, ""), Type: event.EmailDelivered, Email: "a@x.example", OccurredAt: occurred, Source: "ses", MessageID: "m2"},
				{ID: event.HashID("ses", "Delivery", "m2", "b@x.example", ts, ""), Type: event.EmailDelivered, Email: "b@x.example", OccurredAt: occurred, Source: "ses", MessageID: "m2"},
			},
		},
		{
			name:   "transient bounce is soft",
			record: `{"notificationType":"Bounce","mail":{"messageId":"m3"},"bounce":{"bounceType":"Transient","bouncedRecipients":[{"emailAddress":"a@x.example"}],"timestamp":"` + ts + `"}}`,
			want:   []event.Event{{ID: event.HashID("ses", "Bounce", "m3", "a@x.example", ts, ""), Type: event.EmailBounce, Email: "a@x.example", OccurredAt: occurred, Source: "ses", MessageID: "m3", Bounce: event.BounceSoft}},
		},
		{
			name:   "open of a message to several recipients goes to the contact",
			record: `{"eventType":"Open","mail":{"messageId":"m4","destination":["a@x.example","b@x.example"],"tags":{"lt_contact":["c-1"]}},"open":{"timestamp":"` + ts + `"}}`,
			want:   []event.Event{{ID: event.HashID("ses", "Open", "m4", "contact:c-1", ts, ""), Type: event.EmailOpen, ContactID: "c-1", OccurredAt: occurred, Source: "ses", MessageID: "m4"}},
		},
		{
			name:        "open of a message to several recipients without a contact",
			record:      `{"eventType":"Open","mail":{"messageId":"m5","destination":["a@x.example","b@x.example"]},"open":{"timestamp":"` + ts + `"}}`,
			wantIgnored: map[string]int{"Open" + ambiguousSuffix: 1},
		},
		{
			name:   "timestamp falls back to mail.timestamp",
			record: `{"eventType":"Complaint","mail":{"messageId":"m6","timestamp":"` + ts + `"},"complaint":{"complainedRecipients":[{"emailAddress":"a@x.example"}]}}`,
			want:   []event.Event{{ID: event.HashID("ses", "Complaint", "m6", "a@x.example", ts, ""), Type: event.EmailSpam, Email: "a@x.example", OccurredAt: occurred, Source: "ses", MessageID: "m6"}},
		},
		{
			name:        "opt-in subscription",
			record:      `{"eventType":"Subscription","mail":{"messageId":"m7","destination":["a@x.example"]},"subscription":{"timestamp":"` + ts + `","newTopicPreferences":{"unsubscribeAll":false,"topicSubscriptionStatus":[{"topicName":"t","subscriptionStatus":"OptIn"}]}}}`,
			wantIgnored: map[string]int{IgnoredOptIn: 1},
		},
		{
			name:   "topic opt-out is an unsubscribe",
			record: `{"eventType":"Subscription","mail":{"messageId":"m8","destination":["a@x.example"]},"subscription":{"timestamp":"` + ts + `","newTopicPreferences":{"topicSubscriptionStatus":[{"topicName":"t","subscriptionStatus":"OptOut"}]}}}`,
			want:   []event.Event{{ID: event.HashID("ses", "Subscription", "m8", "a@x.example", ts, ""), Type: event.EmailUnsubscribe, Email: "a@x.example", OccurredAt: occurred, Source: "ses", MessageID: "m8"}},
		},
		{name: "plain text message", record: "Hello world", wantIgnored: map[string]int{IgnoredNotSES: 1}},
		{name: "json without a type", record: `{"default":"x"}`, wantIgnored: map[string]int{IgnoredNotSES: 1}},
		{name: "subscription succeeded notice", record: `{"notificationType":"AmazonSnsSubscriptionSucceeded","message":"ok"}`, wantIgnored: map[string]int{"AmazonSnsSubscriptionSucceeded": 1}},
		{name: "bounce without recipients", record: `{"eventType":"Bounce","mail":{"messageId":"m"},"bounce":{"bounceType":"Permanent","timestamp":"` + ts + `"}}`, wantErr: "bouncedRecipients is empty"},
		{name: "bad recipient named by index", record: `{"eventType":"Delivery","mail":{"messageId":"m"},"delivery":{"recipients":["a@x.example","nobody"],"timestamp":"` + ts + `"}}`, wantErr: "delivery.recipients[1]"},
		{name: "no message id", record: `{"eventType":"Delivery","mail":{},"delivery":{"recipients":["a@x.example"],"timestamp":"` + ts + `"}}`, wantErr: "mail.messageId"},
		{name: "bad timestamp", record: `{"eventType":"Open","mail":{"messageId":"m","destination":["a@x.example"]},"open":{"timestamp":"yesterday"}}`, wantErr: "timestamp"},
		{name: "open without destination", record: `{"eventType":"Open","mail":{"messageId":"m"},"open":{"timestamp":"` + ts + `"}}`, wantErr: "mail.destination"},
		{name: "click without link", record: `{"eventType":"Click","mail":{"messageId":"m","destination":["a@x.example"]},"click":{"timestamp":"` + ts + `"}}`, wantErr: "click.link"},
		{name: "mistyped record", record: `{"eventType":"Bounce","mail":5}`, wantErr: "Bounce record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := p.Handle(context.Background(), post(notification(tc.record).sign(t, signer.key), occurred))
			if tc.wantErr != "" {
				if !errors.Is(err, webhook.ErrBadPayload) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want ErrBadPayload mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.Events); diff != "" {
				t.Errorf("events (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantIgnored, res.Ignored); diff != "" {
				t.Errorf("ignored (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestTopicAllowList(t *testing.T) {
	t.Parallel()
	signer := newPinnedSigner(t, 2048)
	p := newProvider(t, Config{CertDir: signer.dir, HTTPClient: refusingClient(t), TopicARNs: []string{testTopic}})
	other := notification(string(readFixture(t, "ses-event-publishing-examples/open.json")))
	other.TopicArn = "arn:aws:sns:us-east-1:123456789012:someone-else"
	if _, err := p.Handle(context.Background(), post(other.sign(t, signer.key), time.Now())); !errors.Is(err, webhook.ErrUnauthorized) {
		t.Fatalf("foreign topic: got %v, want ErrUnauthorized", err)
	}
	// Nor is a subscription to a foreign topic confirmed: refusingClient
	// fails the test if a GET is attempted.
	sub := snsMessage{
		Type: "SubscriptionConfirmation", MessageID: "x", Token: "tok", TopicArn: other.TopicArn, Message: "confirm",
		SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok", Timestamp: "2026-11-20T09:31:02.123Z",
		SigningCertURL: testCertURL,
	}
	if _, err := p.Handle(context.Background(), post(sub.sign(t, signer.key), time.Now())); !errors.Is(err, webhook.ErrUnauthorized) {
		t.Fatalf("foreign subscription: got %v, want ErrUnauthorized", err)
	}
}

// confirmServer records the SubscribeURL GETs it receives.
type confirmServer struct {
	mu   sync.Mutex
	gets []string // host + request URI
}

func (s *confirmServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.gets = append(s.gets, r.Method+" "+r.Host+r.RequestURI)
	s.mu.Unlock()
	if r.URL.Query().Get("Token") == "fail" {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("<ConfirmSubscriptionResponse/>"))
}

func (s *confirmServer) recorded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.gets...)
}

func TestSubscriptionConfirmation(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	signer := newPinnedSigner(t, 2048)
	const subscribe = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:123456789012:longtail-ses&Token=2336412f37fb6"
	msg := func(typ, subscribeURL string) snsMessage {
		return snsMessage{
			Type: typ, MessageID: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", Token: "2336412f37fb6", TopicArn: testTopic,
			Message:      "You have chosen to subscribe to the topic " + testTopic + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
			SubscribeURL: subscribeURL, Timestamp: "2026-11-20T09:31:02.123Z", SigningCertURL: testCertURL,
		}
	}
	setup := func(t *testing.T) (*Provider, *confirmServer) {
		rec := &confirmServer{}
		srv := pki.tlsServer(t, rec)
		return newProvider(t, Config{CertDir: signer.dir, HTTPClient: clientTo(t, srv, pki.roots), TopicARNs: []string{testTopic}}), rec
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 31, 3, 0, time.UTC)

	t.Run("confirmed", func(t *testing.T) {
		t.Parallel()
		p, rec := setup(t)
		res, err := p.Handle(ctx, post(msg("SubscriptionConfirmation", subscribe).sign(t, signer.key), now))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"GET sns.us-east-1.amazonaws.com" + strings.TrimPrefix(subscribe, "https://sns.us-east-1.amazonaws.com")}
		if diff := cmp.Diff(want, rec.recorded()); diff != "" {
			t.Errorf("requests (-want, +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]int{"SubscriptionConfirmation": 1}, res.Ignored); diff != "" || len(res.Events) != 0 {
			t.Errorf("result %+v (ignored -want, +got):\n%s", res, diff)
		}
	})
	t.Run("failed confirmation is retried by SNS", func(t *testing.T) {
		t.Parallel()
		p, rec := setup(t)
		_, err := p.Handle(ctx, post(msg("SubscriptionConfirmation", strings.Replace(subscribe, "Token=2336412f37fb6", "Token=fail", 1)).sign(t, signer.key), now))
		if err == nil || errors.Is(err, webhook.ErrUnauthorized) || errors.Is(err, webhook.ErrBadPayload) {
			t.Fatalf("got %v, want a plain error (answered 5xx)", err)
		}
		if len(rec.recorded()) != 1 {
			t.Errorf("requests: %v", rec.recorded())
		}
	})
	t.Run("SubscribeURL off AWS is not fetched", func(t *testing.T) {
		t.Parallel()
		p, rec := setup(t)
		for _, u := range []string{"https://evil.example/?Action=ConfirmSubscription", "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription", "https://sns.us-east-1.amazonaws.com.evil.example/"} {
			_, err := p.Handle(ctx, post(msg("SubscriptionConfirmation", u).sign(t, signer.key), now))
			if !errors.Is(err, webhook.ErrBadPayload) {
				t.Errorf("%s: got %v, want ErrBadPayload", u, err)
			}
		}
		if got := rec.recorded(); len(got) != 0 {
			t.Errorf("requests made: %v", got)
		}
	})
	t.Run("bad signature is not confirmed", func(t *testing.T) {
		t.Parallel()
		p, rec := setup(t)
		other := newPinnedSigner(t, 1024)
		_, err := p.Handle(ctx, post(msg("SubscriptionConfirmation", subscribe).sign(t, other.key), now))
		if !errors.Is(err, webhook.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
		if got := rec.recorded(); len(got) != 0 {
			t.Errorf("requests made: %v", got)
		}
	})
	t.Run("unsubscribe is acknowledged", func(t *testing.T) {
		t.Parallel()
		p, rec := setup(t)
		res, err := p.Handle(ctx, post(msg("UnsubscribeConfirmation", subscribe).sign(t, signer.key), now))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]int{"UnsubscribeConfirmation": 1}, res.Ignored); diff != "" {
			t.Errorf("ignored (-want, +got):\n%s", diff)
		}
		if got := rec.recorded(); len(got) != 0 {
			t.Errorf("requests made: %v", got)
		}
	})
}

func TestNew(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{TopicARNs: []string{testTopic, "my-topic"}}, "Config.TopicARNs[1]"},
		{Config{TopicARNs: []string{""}}, "Config.TopicARNs[0]"},
		{Config{CertDir: filepath.Join(t.TempDir(), "missing")}, "Config.CertDir"},
		{Config{CertDir: file}, "Config.CertDir"},
		{Config{CertCacheSize: -1}, "Config.CertCacheSize"},
	}
	for _, tc := range tests {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
	p := newProvider(t, Config{TopicARNs: []string{testTopic, "arn:aws-cn:sns:cn-north-1:123456789012:t.fifo"}})
	if p.Name() != "ses" {
		t.Errorf("Name() = %q", p.Name())
	}
	if p.client == nil || p.client.Timeout != defaultHTTPTimeout {
		t.Errorf("default client = %+v, want a %s timeout", p.client, defaultHTTPTimeout)
	}
}

func TestSNSHostRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://sns.us-east-1.amazonaws.com/" + awsCertName, true},
		{"https://sns.cn-north-1.amazonaws.com.cn/" + awsCertName, true},
		{"https://sns.us-gov-west-1.amazonaws.com:443/" + awsCertName, true},
		{"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t", true},
		{"HTTPS://sns.eu-west-1.amazonaws.com/x.pem", true}, // schemes are case-insensitive
		{"https://sns.us-east-1.amazonaws.com.cn.evil.example/x.pem", false},
		{"https://sns.us-east-1.amazonaws.com./x.pem", false},
		{"https://sns..amazonaws.com/x.pem", false},
		{"https://SNS.US-EAST-1.AMAZONAWS.COM/x.pem", false},
		{"https://sns.us-east-1.amazonaws.com:444/x.pem", false},
		{"https://[::1]/x.pem", false},
		{"//sns.us-east-1.amazonaws.com/x.pem", false},
		{"sns.us-east-1.amazonaws.com/x.pem", false},
		{"https://sns.us-east-1.amazonaws.com\x00/x.pem", false},
		{"https://sns.ap-southeast-2.amazonaws.com/x.pem", true},
		// Names a message could otherwise make longtail look up.
		{"https://sns.attacker-chosen-name.amazonaws.com/x.pem", false},
		{"https://sns.x.amazonaws.com/x.pem", false},
		{"https://sns.us-east-1.s3.amazonaws.com/x.pem", false},
	}
	for _, tc := range tests {
		_, err := snsURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("snsURL(%q) error = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

// TestMaxAge: a notification signed long ago (a captured one, replayed
// once its event ids left the dedup window) is refused before any
// certificate is read; one inside the window, either side of now, is not.
func TestMaxAge(t *testing.T) {
	t.Parallel()
	signer := newPinnedSigner(t, 2048)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	record := string(readFixture(t, "ses-event-publishing-examples/open.json"))
	p := newProvider(t, Config{CertDir: signer.dir, HTTPClient: refusingClient(t), MaxAge: 24 * time.Hour})
	tests := []struct {
		name, timestamp string
		ok              bool
	}{
		{"signed in 2020", "2020-03-02T10:00:00.000Z", false},
		{"a day and a second ago", "2026-11-19T11:59:59.000Z", false},
		{"an hour ago", "2026-11-20T11:00:00.000Z", true},
		{"a minute ahead (clock skew)", "2026-11-20T12:01:00.000Z", true},
		{"two days ahead", "2026-11-22T12:00:00.000Z", false},
		{"not a time", "yesterday", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := notification(record)
			m.Timestamp = tc.timestamp
			res, err := p.Handle(context.Background(), post(m.sign(t, signer.key), now))
			if tc.ok {
				if err != nil || len(res.Events) != 1 {
					t.Fatalf("got %+v, %v; want one event", res, err)
				}
				return
			}
			if !errors.Is(err, webhook.ErrUnauthorized) {
				t.Fatalf("got %v, want ErrUnauthorized", err)
			}
		})
	}
	// The certificate is not even looked at: a message naming one that is
	// not pinned fails on its age, not on the missing pin.
	m := notification(record)
	m.Timestamp, m.SigningCertURL = "2020-03-02T10:00:00.000Z", "https://sns.us-east-1.amazonaws.com/not-pinned.pem"
	if _, err := p.Handle(context.Background(), post(m.sign(t, signer.key), now)); !errors.Is(err, webhook.ErrUnauthorized) ||
		!strings.Contains(err.Error(), "replay window") {
		t.Fatalf("old message with an unknown certificate: got %v, want the age refusal", err)
	}
	if _, err := New(Config{MaxAge: -time.Second}); err == nil {
		t.Error("New accepted a negative MaxAge")
	}
}
