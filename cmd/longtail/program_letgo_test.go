package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/internal/redistest"
	"github.com/longtailhq/longtail/internal/smtptest"
	"github.com/longtailhq/longtail/internal/testclock"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/program/letgo"
)

const helloFlow = `id: hello
name: Hello (API enrolment only)
window: always
steps:
  - {id: hello, send: hello}
`

// The shipped last-call flow, its 14-day wait cut to lastCallWait: the
// service's asynq schedules on the wall clock, and the test moves its own
// clock past the wait instead of waiting for it.
func lastCallFlow(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../../flows/program-last-call.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Replace(string(src), "within: 14d", "within: "+lastCallWait.String(), 1)
	if out == string(src) {
		t.Fatal("the shipped last-call flow has no 14d wait to shorten")
	}
	return out
}

// The test's clock runs lastCallBehind behind the wall clock, so that
// the steps it dates are due at once; the wait is that plus 2 seconds, so
// that its timeout is due 2 seconds after the email on the wall clock.
const (
	lastCallBehind = time.Hour
	lastCallWait   = lastCallBehind + 2*time.Second
)

func atRisk(t *testing.T, s *service, pid string) program.Risk {
	t.Helper()
	var list httpapi.AtRiskList
	if code := doAs(t, s, testAPIKey, "GET", "/v1/program/at-risk", "", &list); code != 200 {
		t.Fatalf("GET at-risk = %d", code)
	}
	for _, r := range list.Items {
		if r.PartnerID == pid {
			return r
		}
	}
	t.Fatalf("%s is not at risk: %+v", pid, list.Items)
	return program.Risk{}
}

// Let go on a partner at risk: its mailable contact gets the last call
// once (repeating let go sends nothing), its unsubscribed one nothing;
// the flow ends unanswered and the partner is exited, so nurture refuses
// its contacts with reason program_exit; keep lifts that, once, and only
// that: the unsubscribed contact stays unsubscribed.
func TestLetGoAndKeepEndToEnd(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	tmpl, err := os.ReadFile("../../templates/nurture/program-last-call.en.txt")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := programConfig(t, smtp,
		map[string]string{"program-last-call.yaml": lastCallFlow(t), "hello.yaml": helloFlow},
		map[string]string{"program-last-call.en.txt": string(tmpl)})
	clock := testclock.New(time.Now().UTC().Add(-lastCallBehind).Truncate(time.Millisecond))
	s := startOn(t, clock.Now, "all", "LONGTAIL_CONFIG="+cfgPath, "LONGTAIL_REDIS_URL="+redistest.URL(t))
	joinedLong := clock.Now().AddDate(-2, 0, 0).Format(time.DateOnly)
	joinedNow := clock.Now().AddDate(0, 0, -10).Format(time.DateOnly)
	putAll(t, s, [][2]string{
		{"/v1/reps/rep-a", `{"name":"Anne Martin","email":"anne@vendor.example","daily_capacity":5,"active":true}`},
		{"/v1/partners/ghost", `{"name":"Ghost IT","type":"MSP","owner_rep_id":"rep-a","joined_at":"` + joinedLong + `"}`},
		{"/v1/partners/fresh", `{"name":"Fresh","type":"VAR","owner_rep_id":"rep-a","joined_at":"` + joinedNow + `"}`},
		{"/v1/contacts/jane", `{"partner_id":"ghost","email":"jane@ghost.example","first_name":"Jane","consent":"granted"}`},
		{"/v1/contacts/bob", `{"partner_id":"ghost","email":"bob@ghost.example","first_name":"Bob","consent":"granted"}`},
	})
	// Bob unsubscribed: his consent is withdrawn, as the /u/ link does.
	putAll(t, s, [][2]string{{"/v1/contacts/bob", `{"partner_id":"ghost","email":"bob@ghost.example","first_name":"Bob","consent":"withdrawn"}`}})
	if r := atRisk(t, s, "ghost"); r.State != program.LetGoRecommended || r.Action != program.ActionReengage {
		t.Fatalf("ghost before let go: %+v, want recommended / reengage", r)
	}

	// The caller's mistakes, as 4xx JSON errors.
	for _, tc := range []struct {
		name, token, method, path string
		status                    int
		code                      string
	}{
		{"unknown partner", testAPIKey, "POST", "/v1/program/at-risk/nobody/let-go", 404, "not_found"},
		{"not at risk", testAPIKey, "POST", "/v1/program/at-risk/fresh/let-go", 409, "not_at_risk"},
		{"keep an unknown partner", testAPIKey, "POST", "/v1/program/at-risk/nobody/keep", 404, "not_found"},
		{"no admin key", "wrong-key", "POST", "/v1/program/at-risk/ghost/let-go", 401, ""},
	} {
		var e apiError
		if code := doAs(t, s, tc.token, tc.method, tc.path, "", &e); code != tc.status || (tc.code != "" && e.Error.Code != tc.code) {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, code, e, tc.status, tc.code)
		}
	}

	// Let go, twice: one enrolment, one email, to jane only.
	for i, wantChanged := range []bool{true, false} {
		var res letgo.Result
		if code := doAs(t, s, testAPIKey, "POST", "/v1/program/at-risk/ghost/let-go", "", &res); code != 200 ||
			res.State != program.LetGoReengaging || res.Changed != wantChanged {
			t.Fatalf("let go %d: %d %+v, want reengaging, changed %v", i, code, res, wantChanged)
		}
	}
	eventually(t, 15*time.Second, func() error {
		if got := recipients(smtp); !slices.Equal(got, []string{"jane@ghost.example"}) {
			return errorf("mail to %v, want jane's last call", got)
		}
		return nil
	})
	if r := atRisk(t, s, "ghost"); r.State != program.LetGoReengaging || r.Action != program.ActionWait {
		t.Errorf("ghost re-engaging: %+v, want reengaging / wait", r)
	}

	// No click: once jane waits for one, the test's clock passes the wait;
	// the flow ends at let-go and ghost is exited.
	eventually(t, 15*time.Second, func() error {
		var list struct{ Items []nurture.Enrollment }
		doAs(t, s, testAPIKey, "GET", "/v1/contacts/jane/enrollments", "", &list)
		if len(list.Items) != 1 || list.Items[0].Status != nurture.StatusWaiting {
			return errorf("jane's enrollments: %+v, want one waiting", list.Items)
		}
		return nil
	})
	clock.Advance(lastCallWait)
	eventually(t, 30*time.Second, func() error {
		if r := atRisk(t, s, "ghost"); r.State != program.LetGoExited {
			var list struct{ Items []nurture.Enrollment }
			doAs(t, s, testAPIKey, "GET", "/v1/contacts/jane/enrollments", "", &list)
			return errorf("ghost %+v, want exited %+v", r, list)
		}
		return nil
	})
	enrol := func(cid string) (int, apiError) {
		var e apiError
		code := doAs(t, s, testAPIKey, "POST", "/v1/flows/hello/enrollments", `{"contact_id":"`+cid+`"}`, &e)
		return code, e
	}
	if code, e := enrol("jane"); code != 422 || !strings.Contains(e.Error.Message, "program_exit") {
		t.Errorf("enrol jane while exited: %d %+v, want 422 suppressed: program_exit", code, e)
	}
	if out := s.cli(t, "program", "at-risk"); !strings.Contains(out, "ghost") || !strings.Contains(out, "exited") {
		t.Errorf("program at-risk:\n%s", out)
	}

	// Keep, three ways: the first lifts the exit, the others change nothing.
	var res letgo.Result
	if code := doAs(t, s, testAPIKey, "POST", "/v1/program/at-risk/ghost/keep", "", &res); code != 200 || res.State != program.LetGoKept || !res.Changed {
		t.Fatalf("keep: %d %+v", code, res)
	}
	if code := doAs(t, s, testAPIKey, "DELETE", "/v1/program/at-risk/ghost/let-go", "", &res); code != 200 || res.State != program.LetGoKept || res.Changed {
		t.Errorf("DELETE let-go after keep: %d %+v, want kept, unchanged", code, res)
	}
	if out := s.cli(t, "program", "keep", "ghost"); !strings.Contains(out, "already kept") {
		t.Errorf("program keep ghost: %q", out)
	}
	if r := atRisk(t, s, "ghost"); r.State != program.LetGoKept || r.Action != program.ActionKept {
		t.Errorf("ghost kept: %+v", r)
	}
	if code, e := enrol("jane"); code != 201 {
		t.Errorf("enrol jane once kept: %d %+v, want 201", code, e)
	}
	if code, e := enrol("bob"); code != 422 || !strings.Contains(e.Error.Message, "consent_withdrawn") {
		t.Errorf("enrol bob once kept: %d %+v, want 422: still unsubscribed", code, e)
	}
	eventually(t, 15*time.Second, func() error {
		if got := recipients(smtp); !slices.Equal(got, []string{"jane@ghost.example", "jane@ghost.example"}) {
			return errorf("mail to %v, want jane's last call and hello", got)
		}
		return nil
	})
	s.settle(t, jobs.QueueNurture)
	if n := len(smtp.Messages()); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}

	// The command line: not at risk is an error that says so.
	var out, errOut syncBuffer
	err = runAt(context.Background(), s.now, []string{"program", "let-go", "fresh"}, s.env, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "not on the at-risk list") {
		t.Errorf("program let-go fresh: %v", err)
	}
}
