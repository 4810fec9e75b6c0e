package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/longtailhq/longtail/config"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "longtail.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadErrorsNameFileLineAndKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown top-level key", "http:\n  listen: \":9000\"\nredsi:\n  url: x\n", []string{"longtail.yaml:3:1", "redsi", "unknown key"}},
		{"unknown nested key", "http:\n  listen: \":9000\"\n  lisen: \":1\"\n", []string{"longtail.yaml:3:3", "http.lisen", "unknown key"}},
		{"wrong type", "worker:\n  concurrency: lots\n", []string{"longtail.yaml:2:16", "worker.concurrency", "integer"}},
		{"bad duration", "http:\n  read_timeout: soon\n", []string{"longtail.yaml:2:17", "http.read_timeout", "duration"}},
		{"scalar for mapping", "webhooks: yes\n", []string{"longtail.yaml:1:11", "webhooks", "mapping"}},
		{"invalid value", "log:\n  level: loud\n", []string{"longtail.yaml:2:10", "log.level", "loud"}},
		{"invalid scoring value", "scoring:\n  threshold: -5\n", []string{"longtail.yaml:2:14", "scoring.threshold"}},
		{"unknown event type in rubric", "scoring:\n  points:\n    email.opn: 2\n", []string{"longtail.yaml:", "email.opn"}},
		{"two errors at once", "http:\n  nope: 1\nworker:\n  nada: 2\n", []string{"http.nope", "worker.nada"}},
		{"malformed CRON_TZ", "schedules:\n  rfm: CRON_TZ=Europe/Paris\n", []string{"longtail.yaml:2:8", "schedules.rfm", "nothing after the time zone"}},
		{"empty CRON_TZ", "schedules:\n  rfm: \"CRON_TZ= 15 2 * * *\"\n", []string{"longtail.yaml:2:8", "schedules.rfm", "names no time zone"}},
		{"bad cron spec", "handoff:\n  sweep_schedule: every minute\n", []string{"longtail.yaml:2:19", "handoff.sweep_schedule", "every minute"}},
		{"spec that never fires", "handoff:\n  digest_schedule: 0 7 31 2 *\n", []string{"handoff.digest_schedule", "never fires"}},
		{"malformed CRON_TZ of retention", "schedules:\n  retention: CRON_TZ=Mars/Base 0 3 * * *\n", []string{"longtail.yaml:2:14", "schedules.retention", "Mars/Base"}},
		{"bad enrollment cleanup spec", "schedules:\n  enrollment_cleanup: nightly\n", []string{"longtail.yaml:2:23", "schedules.enrollment_cleanup", "nightly"}},
		{"retention shorter than a day", "retention:\n  timeline: 2h\n", []string{"longtail.yaml:2:13", "retention.timeline", "at least 1d"}},
		{"retention batch", "retention:\n  batch: 0\n", []string{"retention.batch"}},
		{"stale_after shorter than a day", "nurture:\n  stale_after: 1h\n", []string{"nurture.stale_after", "shorter than a day"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(writeFile(t, tc.yaml), true, nil)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadFileAndEnvironment(t *testing.T) {
	t.Parallel()
	p := writeFile(t, `
http:
  listen: ":9000"
  read_timeout: 2d
redis:
  url: redis://u:secretpw@localhost:6379/2
api:
  keys: [aaaaaaaaaaaaaaaaaaaa]
webhooks:
  max_age: 0
  sendgrid:
    public_key: from-file
`)
	env := []string{
		"LONGTAIL_HTTP_LISTEN=:7000",
		"LONGTAIL_WEBHOOKS_SENDGRID_PUBLIC_KEY=from-env",
		"LONGTAIL_API_KEYS=bbbbbbbbbbbbbbbbbbbb, cccccccccccccccccccc",
		"LONGTAIL_WORKER_CONCURRENCY=3",
		"PATH=/bin",
	}
	cfg, err := config.Load(p, true, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != ":7000" {
		t.Errorf("listen = %q, want env override :7000", cfg.HTTP.Listen)
	}
	if cfg.HTTP.ReadTimeout != 48*time.Hour {
		t.Errorf("read_timeout = %s, want 48h", cfg.HTTP.ReadTimeout)
	}
	if cfg.Webhooks.SendGrid.PublicKey != "from-env" {
		t.Errorf("sendgrid key = %q", cfg.Webhooks.SendGrid.PublicKey)
	}
	if got := cfg.API.Keys; len(got) != 2 || got[1] != "cccccccccccccccccccc" {
		t.Errorf("api keys = %q", got)
	}
	if cfg.Worker.Concurrency != 3 {
		t.Errorf("concurrency = %d", cfg.Worker.Concurrency)
	}
	if cfg.Webhooks.ReplayWindow() != 0 {
		t.Errorf("max_age 0 should disable the window, got %s", cfg.Webhooks.ReplayWindow())
	}
	if cfg.HTTP.WriteTimeout != 30*time.Second {
		t.Errorf("unset key lost its default: write_timeout = %s", cfg.HTTP.WriteTimeout)
	}
	m := cfg.Masked()
	if s := m["redis.url"].(string); strings.Contains(s, "secretpw") {
		t.Errorf("masked redis.url leaks the password: %s", s)
	}
	if keys := m["api.keys"].([]string); keys[0] != "***" {
		t.Errorf("masked api.keys = %v", keys)
	}
}

func TestEnvironmentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ env, want string }{
		{"LONGTAIL_WORKER_CONCURRENCY=many", "LONGTAIL_WORKER_CONCURRENCY"},
		{"LONGTAIL_HTTP_LISTN=:1", "names no configuration key"},
		{"LONGTAIL_WEBHOOKS_MAX_AGE=forever", "LONGTAIL_WEBHOOKS_MAX_AGE"},
		{"LONGTAIL_SCHEDULES_RFM=CRON_TZ=UTC", "schedules.rfm"},
	}
	for _, tc := range tests {
		_, err := config.Load("", false, []string{tc.env})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mention of %q", tc.env, err, tc.want)
		}
	}
}

func TestMissingFile(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if _, err := config.Load(missing, false, nil); err != nil {
		t.Errorf("missing default file should mean defaults, got %v", err)
	}
	if _, err := config.Load(missing, true, nil); err == nil {
		t.Error("missing explicit --config file should be an error")
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"redis.url":                    "LONGTAIL_REDIS_URL",
		"webhooks.sendgrid.public_key": "LONGTAIL_WEBHOOKS_SENDGRID_PUBLIC_KEY",
		"scoring.threshold":            "LONGTAIL_SCORING_THRESHOLD",
	} {
		if got := config.EnvName(path); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "1d12h": 36 * time.Hour, "90s": 90 * time.Second, "0": 0, "0.5d": 12 * time.Hour} {
		got, err := config.ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "3x", "1d3"} {
		if _, err := config.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
}

// The shipped example must stay loadable: it documents every key.
func TestExampleConfigLoads(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load("../longtail.example.yaml", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Scoring.Threshold != 30 || cfg.Scoring.HalfLife != 30*24*time.Hour || len(cfg.Topics) != 2 {
		t.Errorf("example config not read as written: threshold %v half_life %s topics %d", cfg.Scoring.Threshold, cfg.Scoring.HalfLife, len(cfg.Topics))
	}
}

// Every key the loader knows is mentioned in the example, so the example
// is the configuration reference.
func TestExampleConfigMentionsEveryKey(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../longtail.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Loaded rather than Default(): keys whose default depends on another
	// (ui.secure_cookies) are only filled in by Load.
	cfg, err := config.Load("", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for path := range cfg.Masked() {
		leaf := path[strings.LastIndex(path, ".")+1:]
		if !strings.Contains(string(data), leaf+":") {
			t.Errorf("longtail.example.yaml does not document %s", path)
		}
	}
}

func TestDeployConfigLoads(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load("../deploy/longtail.yaml", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The production config serves https: its cookies must never travel
	// over plain HTTP, and its ops console must not act.
	if !strings.HasPrefix(cfg.HTTP.PublicURL, "https://") || !cfg.SecureCookies() {
		t.Errorf("deploy config: public_url %q with secure cookies %v", cfg.HTTP.PublicURL, cfg.SecureCookies())
	}
	if cfg.Ops.AllowActions {
		t.Error("deploy config lets the ops console act")
	}
}

// Defaults that follow from other keys, and the security keys' checks.
func TestSecurityDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		yaml          string
		env           []string
		secureCookies bool
		replayCache   bool
		wantErr       []string
	}{
		{name: "defaults", secureCookies: false, replayCache: true},
		{name: "https public url", yaml: "http:\n  public_url: https://lt.example\n", secureCookies: true, replayCache: true},
		{name: "http public url", yaml: "http:\n  public_url: http://lt.example\n", secureCookies: false, replayCache: true},
		{name: "explicit secure cookies", yaml: "ui:\n  secure_cookies: true\n", secureCookies: true, replayCache: true},
		{name: "https public url from the environment", env: []string{"LONGTAIL_HTTP_PUBLIC_URL=https://lt.example"},
			secureCookies: true, replayCache: true},
		{name: "no replay window, no cache", yaml: "webhooks:\n  max_age: 0\n", replayCache: false},
		{name: "mailgun without the cache", yaml: "webhooks:\n  mailgun:\n    signing_key: k\n    replay_cache: false\n",
			wantErr: []string{"longtail.yaml:4:19", "webhooks.mailgun.replay_cache", "must be true", "24h"}},
		{name: "mailgun cache without a window", yaml: "webhooks:\n  max_age: 0\n  mailgun:\n    signing_key: k\n    replay_cache: true\n",
			wantErr: []string{"webhooks.mailgun.replay_cache", "max_age > 0"}},
		{name: "bad trusted proxy", yaml: "http:\n  trusted_proxies: [10.0.0.0/8, 300.1.1.1, 10.0.0.0/99]\n",
			wantErr: []string{"http.trusted_proxies[1]", "300.1.1.1", "http.trusted_proxies[2]"}},
		{name: "short metrics token", env: []string{"LONGTAIL_METRICS_TOKEN=short"}, wantErr: []string{"metrics.token", "16"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Load(writeFile(t, tc.yaml), true, tc.env)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatal("Load succeeded, want an error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.SecureCookies(); got != tc.secureCookies {
				t.Errorf("secure cookies %v, want %v", got, tc.secureCookies)
			}
			if got := cfg.Webhooks.Mailgun.ReplayCacheOn(cfg.Webhooks.ReplayWindow()); got != tc.replayCache {
				t.Errorf("replay cache %v, want %v", got, tc.replayCache)
			}
			// The effective values are what start-up logs.
			m := cfg.Masked()
			if m["ui.secure_cookies"] != tc.secureCookies || m["webhooks.mailgun.replay_cache"] != tc.replayCache {
				t.Errorf("logged ui.secure_cookies %v, webhooks.mailgun.replay_cache %v", m["ui.secure_cookies"], m["webhooks.mailgun.replay_cache"])
			}
		})
	}
}

func TestTrustedPrefixes(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load("", false, []string{"LONGTAIL_HTTP_TRUSTED_PROXIES=10.1.2.3/8, 192.0.2.7, 2001:db8::/32, ::ffff:192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.HTTP.TrustedPrefixes()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "192.0.2.9/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("[%d] = %s, want %s", i, got[i], want[i])
		}
	}
}

func TestNurtureKeys(t *testing.T) {
	t.Parallel()
	p := writeFile(t, `
nurture:
  frequency_cap:
    per: 3d
  window:
    hours: "09:00-17:30"
  timezone: Europe/Paris
`)
	cfg, err := config.Load(p, true, []string{
		"LONGTAIL_NURTURE_FLOWS_DIR=/srv/flows",
		"LONGTAIL_NURTURE_TEMPLATES_DIR=/srv/templates",
		"LONGTAIL_NURTURE_WINDOW_DAYS=mon,wed",
		"LONGTAIL_NURTURE_FREQUENCY_CAP_COUNT=3",
	})
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Nurture
	if n.FlowsDir != "/srv/flows" || n.TemplatesDir != "/srv/templates" || n.Timezone != "Europe/Paris" {
		t.Errorf("dirs and zone = %q %q %q", n.FlowsDir, n.TemplatesDir, n.Timezone)
	}
	if n.FrequencyCap.Count != 3 || n.FrequencyCap.Per != 72*time.Hour {
		t.Errorf("frequency cap = %+v, want 3 per 72h", n.FrequencyCap)
	}
	if strings.Join(n.Window.Days, ",") != "mon,wed" || n.Window.Hours != "09:00-17:30" {
		t.Errorf("window = %+v", n.Window)
	}

	def, err := config.Load("", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := def.Nurture
	if d.FlowsDir != "" || d.FrequencyCap.Count != 2 || d.FrequencyCap.Per != 7*24*time.Hour ||
		strings.Join(d.Window.Days, ",") != "mon,tue,wed,thu,fri" || d.Window.Hours != "08:00-18:00" || d.Timezone != "UTC" {
		t.Errorf("nurture defaults = %+v", d)
	}

	_, err = config.Load(writeFile(t, `nurture:
  timezone: Mars/Olympus
  window:
    days: [mon, funday]
    hours: "18:00-09:00"
  frequency_cap:
    count: -1
`), true, nil)
	for _, want := range []string{
		"longtail.yaml:2:13: nurture.timezone: \"Mars/Olympus\"",
		"longtail.yaml:4:11: nurture.window.days[1]: \"funday\" is not a day",
		"longtail.yaml:5:12: nurture.window.hours: ",
		"longtail.yaml:7:12: nurture.frequency_cap.count: must not be negative",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

func TestSMTPKeys(t *testing.T) {
	t.Parallel()
	def, err := config.Load("", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if def.SMTP.URL != "" || def.SMTP.Rate != 0 || def.SMTP.Sender != config.SenderRep {
		t.Errorf("smtp defaults = %+v, want no url, rate 0 (unlimited), sender rep", def.SMTP)
	}
	cfg, err := config.Load(writeFile(t, "smtp:\n  url: smtp://relay.example:587\n  from: \"Longtail <noreply@vendor.example>\"\n  sender: domain\n"),
		true, []string{"LONGTAIL_SMTP_RATE=12.5"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMTP.Rate != 12.5 || cfg.SMTP.Sender != config.SenderDomain {
		t.Errorf("smtp = %+v, want rate 12.5 and sender domain", cfg.SMTP)
	}
	_, err = config.Load(writeFile(t, "smtp:\n  rate: -1\n  sender: ceo\n"), true, nil)
	for _, want := range []string{
		"longtail.yaml:2:9: smtp.rate: must not be negative",
		`longtail.yaml:3:11: smtp.sender: "ceo" is not rep or domain`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}
