package scoring

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/longtailhq/longtail/event"
)

func TestComputeRFM(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	// Partner i has i visits, the last (9−i)·10 days ago: p0 never engaged,
	// p9 engaged today and most often. p3 and p7 tie on money.
	var ids []string
	for i := range 10 {
		pid := fmt.Sprintf("p%d", i)
		ids = append(ids, pid)
		var evs []event.Event
		for k := range i {
			evs = append(evs, ev(fmt.Sprintf("v%d", k), event.WebVisit, t0.Add(-time.Duration((9-i)*10+k)*Day)))
		}
		switch i {
		case 3, 7:
			p := ev("buy", event.Purchase, t0.Add(-200*Day))
			p.Value = 100
			evs = append(evs, p)
		case 9:
			p := ev("buy", event.Purchase, t0.Add(-5*Day))
			p.Value = 500
			evs = append(evs, p, ev("old", event.WebVisit, t0.Add(-100*Day))) // outside the 90-day window
		case 5:
			p := ev("buy", event.Purchase, t0.Add(-400*Day)) // outside the 365-day window
			p.Value = 1000
			evs = append(evs, p)
		}
		if len(evs) > 0 {
			b.apply(t, Target{PartnerID: pid, ContactID: "c"}, evs...)
		}
	}
	sum, err := b.eng.ComputeRFM(b.ctx, ids, t0)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		R, F, M     int
		Segment     string
		Recency     int
		Frequency   int
		Monetary    float64
		ComputedNow bool
	}
	want := []row{
		{1, 1, 1, "lost", -1, 0, 0, true},
		{1, 1, 1, "lost", 80, 1, 0, true},
		{2, 2, 1, "hibernating", 70, 2, 0, true},
		{2, 2, 4, "hibernating", 60, 3, 100, true},
		{3, 3, 1, "potential", 50, 4, 0, true},
		{3, 3, 1, "potential", 40, 5, 0, true},
		{4, 4, 1, "champions", 30, 6, 0, true},
		{4, 4, 4, "champions", 20, 7, 100, true},
		{5, 5, 1, "champions", 10, 8, 0, true},
		{5, 5, 5, "champions", 0, 9, 500, true},
	}
	var got []row
	for _, pid := range ids {
		p, err := b.eng.Partner(b.ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		r := p.RFM
		got = append(got, row{r.R, r.F, r.M, r.Segment, r.RecencyDays, r.Frequency, r.Monetary,
			r.ComputedAt.Equal(t0)})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rfm (-want, +got):\n%s", diff)
	}
	if diff := cmp.Diff(&RFMSummary{Partners: 10, Segments: map[string]int{
		"lost": 2, "hibernating": 2, "potential": 2, "champions": 4,
	}}, sum); diff != "" {
		t.Errorf("summary (-want, +got):\n%s", diff)
	}
	// Buckets older than both windows are dropped; the others stay (they
	// live in the partner hash, next to fields such as "fit").
	fields, _ := b.rdb.HKeys(b.ctx, partnerScoreKey("p5")).Result()
	freq := 0
	for _, f := range fields {
		if f[0] == 'm' {
			t.Errorf("p5 keeps stale bucket %s", f)
		}
		if f[0] == 'f' && f != "fit" {
			freq++
		}
	}
	if freq != 5 {
		t.Errorf("p5 keeps %d frequency buckets of %q, want its 5 visit days", freq, fields)
	}
}

func TestDefaultSegmentsCoverEveryRank(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	want := map[[2]int]string{
		{5, 5}: "champions", {4, 4}: "champions", {3, 5}: "loyal", {5, 1}: "new", {4, 1}: "potential",
		{3, 3}: "potential", {2, 5}: "at risk", {1, 3}: "at risk", {2, 2}: "hibernating", {1, 1}: "lost", {2, 1}: "lost",
	}
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			got := b.eng.segment(r, f, 1)
			if got == "" {
				t.Errorf("R%d F%d has no segment", r, f)
			}
			if w, ok := want[[2]int{r, f}]; ok && got != w {
				t.Errorf("R%d F%d = %q, want %q", r, f, got, w)
			}
		}
	}
}

func TestQuintilesTies(t *testing.T) {
	t.Parallel()
	vals := []int{0, 0, 0, 0, 0, 0, 7, 3, 3, 9}
	got := quintiles(len(vals), func(i, j int) int { return cmpNum(vals[i], vals[j]) })
	if diff := cmp.Diff([]int{1, 1, 1, 1, 1, 1, 5, 4, 4, 5}, got); diff != "" {
		t.Errorf("quintiles (-want, +got):\n%s", diff)
	}
}
