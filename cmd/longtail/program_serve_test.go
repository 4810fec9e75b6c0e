package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/program"
)

// TestProgramEndToEnd is the wiring of the program view in the running
// service: a partner with a join date, a deal and a purchase posted as
// events (twice: a redelivery), scored by the worker, which logs them;
// the scorecard and the KPIs count each once, with its origin.
func TestProgramEndToEnd(t *testing.T) {
	t.Parallel()
	s := startService(t, "LONGTAIL_REDIS_URL="+redistest.URL(t))
	now := time.Now().UTC()
	joined := now.AddDate(0, 0, -100).Format(time.DateOnly)
	if code := s.do(t, "PUT", "/v1/partners/acme", "application/json", strings.NewReader(`{"name":"Acme","joined_at":"`+joined+`"}`), nil); code != 200 {
		t.Fatalf("PUT partner: %d", code)
	}
	if code := s.do(t, "PUT", "/v1/contacts/jane", "application/json", strings.NewReader(`{"partner_id":"acme","email":"jane@acme.example"}`), nil); code != 200 {
		t.Fatalf("PUT contact: %d", code)
	}
	events := fmt.Sprintf(`[{"id":"crm:d1","type":"deal.registered","contact_id":"jane","occurred_at":%q,"value":12000,"origin":"partner","source":"crm"},
{"id":"crm:p1","type":"purchase","contact_id":"jane","occurred_at":%q,"value":30000,"origin":"vendor","source":"crm"}]`,
		now.Add(-2*time.Hour).Format(time.RFC3339), now.Add(-time.Hour).Format(time.RFC3339))
	for i := range 2 { // a redelivery of the same events
		if code := s.do(t, "POST", "/v1/events", "application/json", strings.NewReader(events), nil); code != 202 && code != 200 {
			t.Fatalf("POST /v1/events %d: %d", i, code)
		}
		s.settle(t, jobs.QueueIngest)
	}
	var card program.Card
	if code := s.do(t, "GET", "/v1/partners/acme/scorecard", "", nil, &card); code != 200 {
		t.Fatalf("GET scorecard: %d", code)
	}
	if card.Deals12 != (program.Sum{Count: 1, Value: 12000}) || card.Revenue12 != (program.Sum{Count: 1, Value: 30000}) ||
		card.Cycle.Count != 1 || card.DaysToFirstDeal == nil || *card.DaysToFirstDeal < 99 || *card.DaysToFirstDeal > 101 {
		t.Errorf("scorecard: deals %v, revenue %v, cycle %+v, days to first deal %v", card.Deals12, card.Revenue12, card.Cycle, card.DaysToFirstDeal)
	}
	if card.Engagement.Now <= 0 || card.Stage != program.Productive {
		t.Errorf("scorecard: score %v (the deal scores points), stage %s, want productive", card.Engagement.Now, card.Stage)
	}
	var k program.KPIReport
	if code := s.do(t, "GET", "/v1/program/kpis", "", nil, &k); code != 200 {
		t.Fatalf("GET kpis: %d", code)
	}
	if k.Sourcing.Deals.Partner.Count != 1 || k.Sourcing.Purchases.Vendor.Count != 1 || k.Partners != 1 || k.Productive != 1 {
		t.Errorf("kpis: %+v", k)
	}
	if out := s.cli(t, "program", "tiers", "--csv"); !strings.Contains(out, "\nacme,productive,,silver,set,1,30000,") {
		t.Errorf("program tiers --csv:\n%s", out)
	}
}
