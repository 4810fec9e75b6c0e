package nurture_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/event"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/nurture/flow"
)

// TestEnrollManyAnswersAsEnrollDoes enrols the same contacts, in the same
// states, one at a time in one world and in one batch in another, and
// compares every answer, the enrollments written and the funnel: a new
// contact, one already enrolled, one who ended the flow (reentry: never),
// one the gate refuses, an unknown id, and a contact named twice.
func TestEnrollManyAnswersAsEnrollDoes(t *testing.T) {
	t.Parallel()
	ids := []string{"kim", "jane", "omar", "ward", "nobody", "kim"}
	type answer struct {
		Created    bool
		Enrollment *nurture.Enrollment
		Next       *nurture.Next
		Err        string
	}
	world := func(t *testing.T) *bundle {
		b := setup(t, options{})
		for _, c := range []directory.Contact{
			{ID: "kim", PartnerID: "acme", Email: "kim@acme.example"},
			{ID: "ward", PartnerID: "acme", Email: "ward@acme.example", Consent: directory.ConsentWithdrawn},
		} {
			if _, _, err := b.dir.PutContact(b.ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		b.enroll(t, "test-flow", "jane")
		b.enroll(t, "test-flow", "omar")
		omar, err := b.dir.GetContact(b.ctx, "omar")
		if err != nil {
			t.Fatal(err)
		}
		if ended, err := b.eng.End(b.ctx, "test-flow", omar); err != nil || !ended {
			t.Fatalf("End: %v %v", ended, err)
		}
		return b
	}
	errText := func(err error) string {
		var nm *nurture.NotMailableError
		switch {
		case err == nil:
			return ""
		case errors.As(err, &nm):
			return "not mailable: " + nm.Reason
		case errors.Is(err, nurture.ErrUnknownContact):
			return "unknown contact"
		}
		return err.Error()
	}

	single, batch := world(t), world(t)
	var want []answer
	for _, id := range ids {
		r, err := single.eng.Enroll(single.ctx, "test-flow", id)
		want = append(want, answer{r.Created, r.Enrollment, r.Next, errText(err)})
	}
	res, err := batch.eng.EnrollMany(batch.ctx, "test-flow", ids)
	if err != nil {
		t.Fatal(err)
	}
	var got []answer
	for _, r := range res {
		got = append(got, answer{r.Created, r.Enrollment, r.Next, errText(r.Err)})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-single, +batch):\n%s", diff)
	}
	// The answers are those expected, not just equal.
	wantErr := []string{"", "", "", "not mailable: consent_withdrawn", "unknown contact", ""}
	for i, a := range got {
		if a.Err != wantErr[i] || a.Created != (i == 0) {
			t.Errorf("%s: created %v, error %q; want created %v, error %q", ids[i], a.Created, a.Err, i == 0, wantErr[i])
		}
	}
	for _, pid := range []string{"acme", "orphan"} {
		w, err := single.store.OfPartner(single.ctx, pid, "")
		if err != nil {
			t.Fatal(err)
		}
		g, err := batch.store.OfPartner(batch.ctx, pid, "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("enrollments of %s (-single, +batch):\n%s", pid, diff)
		}
	}
	w, err := single.eng.Funnel(single.ctx, "test-flow")
	if err != nil {
		t.Fatal(err)
	}
	g, err := batch.eng.Funnel(batch.ctx, "test-flow")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("funnel (-single, +batch):\n%s", diff)
	}
	if n := g[0].Counts[nurture.CountEntered]; n != 3 {
		t.Errorf("welcome entered %d times; want 3 (jane, omar, kim once)", n)
	}
}

func TestEnrollManyUnknownFlow(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	if _, err := b.eng.EnrollMany(b.ctx, "no-such-flow", []string{"jane"}); !errors.Is(err, nurture.ErrUnknownFlow) {
		t.Fatalf("err = %v; want ErrUnknownFlow", err)
	}
}

// TestTriggerManyAsTriggerDoes triggers the same contacts one at a time in
// one world and at once in another: the same steps to schedule and the
// same enrollments, and a cause no flow names enrols nobody.
func TestTriggerManyAsTriggerDoes(t *testing.T) {
	t.Parallel()
	ids := []string{"jane", "omar", "ward", "nobody", "jane"}
	world := func(t *testing.T) *bundle {
		b := setup(t, options{})
		if _, _, err := b.dir.PutContact(b.ctx, directory.Contact{ID: "ward", PartnerID: "acme", Email: "ward@acme.example", Consent: directory.ConsentWithdrawn}); err != nil {
			t.Fatal(err)
		}
		return b
	}
	security := flow.Cause{Kind: flow.TriggerEvent, Event: event.WebinarRegistered, Topic: "security"}
	storage := flow.Cause{Kind: flow.TriggerEvent, Event: event.WebinarRegistered, Topic: "storage"}
	single, batch := world(t), world(t)
	var want []nurture.Next
	for _, id := range ids {
		next, err := single.eng.Trigger(single.ctx, id, storage, security)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, next...)
	}
	got, err := batch.eng.TriggerMany(batch.ctx, ids, storage, security)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps to schedule (-single, +batch):\n%s", diff)
	}
	if len(got) != 3 || got[0].Enrollment != "acme:test-flow:jane" || got[1].Enrollment != "orphan:test-flow:omar" || got[2] != got[0] {
		t.Errorf("steps %+v; want jane's, omar's, and jane's again", got)
	}
	for _, pid := range []string{"acme", "orphan"} {
		w, err := single.store.OfPartner(single.ctx, pid, "")
		if err != nil {
			t.Fatal(err)
		}
		g, err := batch.store.OfPartner(batch.ctx, pid, "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("enrollments of %s (-single, +batch):\n%s", pid, diff)
		}
	}
	if next, err := batch.eng.TriggerMany(batch.ctx, []string{"omar"}, storage); err != nil || len(next) != 0 {
		t.Errorf("a storage webinar enrolled: %+v %v", next, err)
	}
}
