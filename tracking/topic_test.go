package tracking

import (
	"net/http"
	"testing"

	"github.com/longtailhq/longtail/topic"
)

// TestClicksGetTopicsThroughTheEdge: the handler records through the sink
// it is given, and the server gives it the topic edge, so a click on a
// tracked link whose token names no topic gets the URL's topic from the
// rules, like a provider's click webhook (this was once skipped).
func TestClicksGetTopicsThroughTheEdge(t *testing.T) {
	t.Parallel()
	rules, err := topic.NewRules([]topic.Rule{{Topic: "security", URLContains: []string{"/security/"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		claims    Claims
		wantTopic string
	}{
		{"url rule", Claims{ContactID: "c1", URL: "https://vendor.example/security/edr"}, "security"},
		{"topic in the token wins", Claims{ContactID: "c1", URL: "https://vendor.example/security/edr", Topic: "Storage"}, "storage"},
		{"lt_topic link", Claims{ContactID: "c1", URL: "https://vendor.example/x?lt_topic=backup"}, "backup"},
		{"no match", Claims{ContactID: "c1", URL: "https://vendor.example/pricing"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sink *memSink
			b := setup(t, func(cfg *HandlerConfig) {
				sink = cfg.Sink.(*memSink)
				edge, err := topic.NewEdge(rules, sink)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Sink = edge
			})
			tok, err := b.signer.Sign(KindClick, tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			if r := b.do(t, http.MethodGet, KindClick.Path(tok), nil); r.status != http.StatusFound {
				t.Fatalf("click: %d", r.status)
			}
			got := sink.got()
			if len(got) != 1 {
				t.Fatalf("recorded %d events, want 1", len(got))
			}
			if got[0].Topic != tt.wantTopic {
				t.Errorf("topic %q, want %q", got[0].Topic, tt.wantTopic)
			}
		})
	}
}
