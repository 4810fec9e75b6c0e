package nurture_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/nurture/flow"
)

func TestSendRules(t *testing.T) {
	t.Parallel()
	r, err := nurture.Config{}.SendRules()
	if err != nil {
		t.Fatal(err)
	}
	if r.Cap != (flow.Cap{Count: 2, Per: 7 * 24 * time.Hour}) {
		t.Errorf("default cap = %+v", r.Cap)
	}
	if got := r.Window.String(); got != `{days: [mon, tue, wed, thu, fri], hours: "08:00-18:00"}` {
		t.Errorf("default window = %s", got)
	}
	if z := r.Zones.For("", "Mars/Olympus"); z != time.UTC {
		t.Errorf("fallback zone = %s, want UTC", z)
	}
	paris, err := nurture.Config{Timezone: "Europe/Paris"}.SendRules()
	if err != nil || paris.Zones.For().String() != "Europe/Paris" {
		t.Errorf("nurture.timezone Europe/Paris: zone %v, err %v", paris.Zones.For(), err)
	}

	_, err = nurture.Config{
		FrequencyCap: flow.Cap{Count: -1, Per: -time.Hour},
		Window:       flow.WindowSpec{Days: []string{"mon", "someday"}, Hours: "9-5"},
		Timezone:     "Local",
	}.SendRules()
	want := []string{
		"nurture.frequency_cap.count: must not be negative",
		"nurture.frequency_cap.per: must not be negative",
		`nurture.window.days[1]: "someday" is not a day`,
		`nurture.window.hours: "9-5"`,
		`nurture.timezone: "Local" is not an IANA time zone`,
	}
	lines := strings.Split(errString(err), "\n")
	if len(lines) != len(want) {
		t.Fatalf("errors:\n%v\nwant %d lines", err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want %q…", i, lines[i], w)
		}
	}
	if nurture.DefaultConfig().Validate() != nil {
		t.Error("the default configuration is invalid")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestLibraryShipped(t *testing.T) {
	t.Parallel()
	lib, err := nurture.Config{}.Library([]string{"champions", "potential", "hibernating", "lost"})
	if err != nil {
		t.Fatalf("the shipped flows and templates do not load:\n%v", err)
	}
	if lib.Flows.Len() != 11 || len(lib.Templates.Names()) != 17 {
		t.Errorf("shipped library has %d flows and %d templates, want 11 and 17", lib.Flows.Len(), len(lib.Templates.Names()))
	}
	if _, err := (nurture.Config{}).Library([]string{"champions"}); err == nil || !strings.Contains(err.Error(), `"hibernating" is not an RFM segment`) {
		t.Errorf("a segment the scoring config does not have must be refused; err = %v", err)
	}
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// One run reports the problems of the templates where they are, and of
// the flows where they are; a flow naming a template that exists but is
// broken is not blamed for it.
func TestLibraryReportsEverything(t *testing.T) {
	t.Parallel()
	flowsDir, tmplDir := t.TempDir(), t.TempDir()
	write(t, tmplDir, map[string]string{
		"hello.en.txt":  "{{define \"subject\"}}Hi{{end}}Hello {{.Contact.FirstName}}",
		"broken.en.txt": "{{define \"subject\"}}Hi{{end}}Hello {{.Contact.Nom}}",
	})
	write(t, flowsDir, map[string]string{
		"a.yaml": "id: a\nname: A\nsteps:\n  - {id: s, send: hello}\n  - {id: t, send: broken}\n  - {id: u, send: missing}\n",
		"b.yaml": "id: b\nname: B\nwindow: never\nsteps: [{id: s, send: hello}]\n",
	})
	cfg := nurture.Config{FlowsDir: flowsDir, TemplatesDir: tmplDir}
	_, err := cfg.Library(nil)
	var list flow.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("err = %v, want a flow.ErrorList", err)
	}
	want := []string{
		flowsDir + "/a.yaml:6:19: steps[2].send: no such template \"missing\" (want " + tmplDir + "/missing.en.txt)",
		flowsDir + "/b.yaml:3:9: window: ",
		tmplDir + "/broken.en.txt:1:45: text: <.Contact.Nom>: can't evaluate field Nom",
	}
	if len(list) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(list), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(list[i].Error(), w) {
			t.Errorf("problem %d = %q, want %q…", i, list[i], w)
		}
	}

	if _, err := (nurture.Config{FlowsDir: filepath.Join(flowsDir, "nope")}).Library(nil); err == nil || errors.As(err, &list) {
		t.Errorf("a missing flows directory: err = %v, want a plain error", err)
	}
}
