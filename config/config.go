package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/longtailhq/longtail/maintenance"
	"github.com/longtailhq/longtail/notify"
	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
	"github.com/longtailhq/longtail/topic"
)

// Config is the whole of longtail's configuration. Every field's zero
// value is replaced by the default documented on it (see Default); the
// example file longtail.example.yaml lists them all.
type Config struct {
	HTTP      HTTP      `yaml:"http"`
	Redis     Redis     `yaml:"redis"`
	API       API       `yaml:"api"`
	Log       Log       `yaml:"log"`
	Directory Directory `yaml:"directory"`
	Worker    Worker    `yaml:"worker"`
	Webhooks  Webhooks  `yaml:"webhooks"`
	Tracking  Tracking  `yaml:"tracking"`
	Ingest    Ingest    `yaml:"ingest"`
	// Scoring is the rubric, decay, caps, threshold and RFM (scoring.Config
	// documents every key and default).
	Scoring scoring.Config `yaml:"scoring"`
	// Topics are the rules that give events an interest topic from link
	// tags, URLs and titles.
	Topics []topic.Rule `yaml:"topics"`
	// Nurture is the flows, templates, send window, frequency cap and
	// fallback time zone of nurture email (nurture.Config documents each
	// key and default).
	Nurture nurture.Config `yaml:"nurture"`
	// SMTP is the mail server every email goes through (rep notifications
	// now, nurture sends later).
	SMTP SMTP `yaml:"smtp"`
	// Handoff is routing, SLAs and notifications of the rep call queue
	// (repqueue.Config documents the routing keys and defaults).
	Handoff Handoff `yaml:"handoff"`
	// Program is the partner-program view: lifecycle windows, the tier
	// ladder, the exit delay (program.Config documents each key and
	// default).
	Program program.Config `yaml:"program"`
	// UI configures the rep's pages.
	UI UI `yaml:"ui"`
	// Ops configures the task-queue console at /ops/queues.
	Ops Ops `yaml:"ops"`
	// Metrics configures GET /metrics.
	Metrics Metrics `yaml:"metrics"`
	// Schedules are the cron specs of periodic jobs that belong to no
	// other section (handoff.digest_schedule and handoff.sweep_schedule
	// sit with the hand-off keys).
	Schedules Schedules `yaml:"schedules"`
	// Retention is how long timelines are kept (see Retention).
	Retention Retention `yaml:"retention"`
}

// Ops configures the task-queue console (asynqmon) at /ops/queues.
type Ops struct {
	// AllowActions lets the console change the queues (pause, delete,
	// archive, run tasks). Default false: the console is read-only, so a
	// leaked or replayed admin session can look but not act.
	AllowActions bool `yaml:"allow_actions"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Token, when set, is the bearer token GET /metrics requires (at least
	// 16 characters). Empty leaves /metrics open, for a scraper on a
	// private network.
	Token string `yaml:"token" secret:"true"`
}

// SMTP configures outgoing mail. With no URL, serve starts an embedded
// SMTP server on loopback and every email goes there, to be read at
// /ui/outbox instead of being delivered (see the outbox package).
type SMTP struct {
	// URL: smtp://[user:pass@]host:587 (STARTTLS required),
	// smtp://host:25?tls=none (no TLS), smtps://[user:pass@]host:465
	// (implicit TLS); see the mailer package. Empty: the embedded server.
	URL string `yaml:"url" secret:"url"`
	// From is the sender of notifications and of nurture email with no
	// rep, e.g. "Longtail <noreply@vendor.example>". Required with a
	// URL; on the embedded server default "Longtail <noreply@longtail.localhost>".
	From string `yaml:"from"`
	// Rate is the most messages per second sent, across every email;
	// default 0, unlimited.
	Rate float64 `yaml:"rate"`
	// Sender is whose address a nurture email comes from: "rep"
	// (default) sends From the rep's own name and address; "domain"
	// sends the rep's name on smtp.from's address, for a sending domain
	// whose SPF/DKIM cannot cover the reps' mailboxes. Reply-To is the rep
	// either way.
	Sender string `yaml:"sender"`
}

// SMTP senders (smtp.sender).
const (
	SenderRep    = "rep"
	SenderDomain = "domain"
)

// Handoff configures what happens when a partner crosses the threshold.
type Handoff struct {
	repqueue.Config `yaml:",inline"`
	// Notify is how reps hear of a hand-off: "email" (one email each,
	// default), "digest" (one email a day, at digest_schedule) or "none".
	// A rep's own preference, Attrs["notify"], wins.
	Notify string `yaml:"notify"`
	// DigestSchedule is the cron spec of the daily digest; default
	// "CRON_TZ=UTC 0 7 * * 1-5".
	DigestSchedule string `yaml:"digest_schedule"`
	// SweepSchedule is the cron spec of the SLA sweep; default every
	// minute.
	SweepSchedule string `yaml:"sweep_schedule"`
	// Webhooks receive every hand-off and outcome, signed with their
	// secret (X-Longtail-Signature: t=<unix>,v1=<hex HMAC-SHA256>).
	Webhooks []notify.Webhook `yaml:"webhooks"`
}

// UI configures the rep's call-queue pages.
type UI struct {
	// SessionTTL is how long a sign-in lasts; default 12h.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// SecureCookies marks the pages' cookies Secure, so a browser never
	// sends them over plain HTTP. Default true when http.public_url is
	// https, false otherwise (http://localhost).
	SecureCookies *bool `yaml:"secure_cookies"`
}

// HTTP configures the listener.
type HTTP struct {
	// Listen is the address; default ":8080".
	Listen string `yaml:"listen"`
	// PublicURL is how people and platforms reach this server (links in
	// mail, rep notifications). Default "http://localhost" + Listen port.
	PublicURL string `yaml:"public_url"`
	// ReadHeaderTimeout default 5s, ReadTimeout 30s, WriteTimeout 30s,
	// IdleTimeout 120s, ShutdownTimeout 15s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
	// MaxBodyBytes bounds every request body; default 10 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// HealthListen is where a process without the API (--role worker or
	// scheduler) answers GET /healthz and /readyz, for an orchestrator's
	// probes. Default empty: nowhere. An api process answers them on
	// Listen.
	HealthListen string `yaml:"health_listen"`
	// TrustedProxies are the CIDRs (or single addresses) of the reverse
	// proxies in front of longtail. A request from one of them is taken to
	// come from the address it names in X-Forwarded-For; from anywhere
	// else, X-Forwarded-For is ignored. Default none: behind a proxy, set
	// it, or every client shares the proxy's sign-in rate limit.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Redis says where state lives.
type Redis struct {
	// URL: redis://, rediss://, unix://, redis+sentinel:// or
	// redis+cluster:// (see README). Empty runs an embedded in-process
	// Redis that persists nothing.
	URL string `yaml:"url" secret:"url"`
}

// API configures the JSON API.
type API struct {
	// Keys are the admin bearer keys (each at least 16 characters). With
	// none configured the /v1 API refuses every request with 401.
	Keys []string `yaml:"keys" secret:"true"`
}

// Log configures zerolog.
type Log struct {
	// Level: trace, debug, info (default), warn, error.
	Level string `yaml:"level"`
	// Format: json (default) or console (human-readable, coloured only
	// when writing to a terminal).
	Format string `yaml:"format"`
}

// Directory configures the partner directory.
type Directory struct {
	// UnassignedPartner is the partner id unknown emails are filed under;
	// default "unassigned".
	UnassignedPartner string `yaml:"unassigned_partner"`
	// DropUnknownContacts, when true, drops (and counts) events for emails
	// no contact has instead of creating a contact. Default false.
	DropUnknownContacts bool `yaml:"drop_unknown_contacts"`
}

// Worker configures background task processing.
type Worker struct {
	// Concurrency is the number of task workers; default 10.
	Concurrency int `yaml:"concurrency"`
	// TaskCheckInterval is how often an idle worker polls for new tasks;
	// default 50ms (asynq's own 1s default is too slow for handoffs).
	TaskCheckInterval time.Duration `yaml:"task_check_interval"`
}

// Webhooks configures the provider edge. A provider with no credentials
// answers 404.
type Webhooks struct {
	// MaxAge is the replay window for providers that sign a timestamp;
	// default 24h (kept below the 72h event dedup horizon so any replay
	// inside the window is deduplicated and any outside it refused);
	// "0" disables.
	MaxAge   *time.Duration `yaml:"max_age"`
	SendGrid SendGrid       `yaml:"sendgrid"`
	Mailgun  Mailgun        `yaml:"mailgun"`
	Postmark Postmark       `yaml:"postmark"`
	SES      SES            `yaml:"ses"`
	Mandrill Mandrill       `yaml:"mandrill"`
	Brevo    Brevo          `yaml:"brevo"`
	Zoom     Zoom           `yaml:"zoom"`
}

// SendGrid: the Event Webhook verification key (base64 DER).
type SendGrid struct {
	PublicKey string `yaml:"public_key"`
}

// Mailgun: the HTTP webhook signing key.
type Mailgun struct {
	SigningKey string `yaml:"signing_key" secret:"true"`
	// ReplayCache accepts each signing token once (Mailgun signs the
	// timestamp and token, not the events, so without it one captured
	// signature carries any events for webhooks.max_age). Default true
	// when webhooks.max_age > 0, and it must then stay true; with max_age
	// 0 it must be false, since a token would have to be kept forever.
	ReplayCache *bool `yaml:"replay_cache"`
}

// ReplayCacheOn is the effective replay_cache under the replay window
// maxAge.
func (m Mailgun) ReplayCacheOn(maxAge time.Duration) bool {
	if m.ReplayCache == nil {
		return maxAge > 0
	}
	return *m.ReplayCache
}

// Postmark: Basic auth credentials as "user:pass".
type Postmark struct {
	BasicAuth string `yaml:"basic_auth" secret:"true"`
}

// SES: Amazon SNS subscriptions carrying SES events.
type SES struct {
	// Enabled turns the endpoint on (SNS needs no shared secret).
	Enabled bool `yaml:"enabled"`
	// CertDir pins signing certificates: when set, the only source.
	CertDir string `yaml:"cert_dir"`
	// TopicARNs, when set, is the allow-list of topics.
	TopicARNs []string `yaml:"topic_arns"`
}

// Mandrill: webhook key and the exact URL configured at Mandrill.
type Mandrill struct {
	Key string `yaml:"key" secret:"true"`
	URL string `yaml:"url"`
}

// Brevo: bearer token (or "user:pass" for Basic auth).
type Brevo struct {
	Token string `yaml:"token" secret:"true"`
}

// Zoom: the app's secret token.
type Zoom struct {
	SecretToken string `yaml:"secret_token" secret:"true"`
}

// Tracking configures first-party open and click tracking.
type Tracking struct {
	// Secret signs tracking tokens (at least 32 bytes). Empty disables
	// the /t/ routes.
	Secret string `yaml:"secret" secret:"true"`
	// FallbackURL is where a click with a forged or damaged token goes
	// (e.g. the vendor's home page). Empty: a 404 page.
	FallbackURL string `yaml:"fallback_url"`
}

// Ingest configures the events API.
type Ingest struct {
	// MaxEvents bounds one POST /v1/events request; default 5000.
	MaxEvents int `yaml:"max_events"`
	// MaxFutureSkew: an event dated more than this past the server's clock
	// is refused (per event: in /v1/events' rejected list, and dropped
	// and counted from a webhook); default 24h. Events before 2000 are
	// accepted and flagged.
	MaxFutureSkew time.Duration `yaml:"max_future_skew"`
}

// Default returns the configuration with every default filled in.
func Default() Config {
	return Config{
		HTTP: HTTP{
			Listen:            ":8080",
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   15 * time.Second,
			MaxBodyBytes:      10 << 20,
		},
		Log:       Log{Level: "info", Format: "json"},
		Directory: Directory{UnassignedPartner: "unassigned"},
		Worker:    Worker{Concurrency: 10, TaskCheckInterval: 50 * time.Millisecond},
		Ingest:    Ingest{MaxEvents: 5000, MaxFutureSkew: 24 * time.Hour},
		Nurture:   nurture.DefaultConfig(),
		Handoff: Handoff{
			Notify:         "email",
			DigestSchedule: "CRON_TZ=UTC 0 7 * * 1-5",
			SweepSchedule:  "@every 1m",
		},
		UI:        UI{SessionTTL: 12 * time.Hour},
		Schedules: Schedules{RFM: "CRON_TZ=UTC 15 2 * * *", ProgramSnapshot: "CRON_TZ=UTC 45 1 * * *", Retention: DefaultRetentionSchedule, EnrollmentCleanup: DefaultEnrollmentCleanupSchedule},
		Retention: Retention{Timeline: maintenance.DefaultTimeline, Batch: maintenance.DefaultBatch},
		SMTP:      SMTP{Sender: SenderRep},
	}
}

// SecureCookies is the effective ui.secure_cookies: as set, else whether
// http.public_url is https.
func (c *Config) SecureCookies() bool {
	if c.UI.SecureCookies != nil {
		return *c.UI.SecureCookies
	}
	u, err := url.Parse(c.HTTP.PublicURL)
	return err == nil && strings.EqualFold(u.Scheme, "https")
}

// TrustedPrefixes parses http.trusted_proxies (validated at load).
func (h HTTP) TrustedPrefixes() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(h.TrustedProxies))
	for i, s := range h.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("http.trusted_proxies[%d]: %v", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// parsePrefix reads a CIDR, or a single address as its own /32 or /128.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", s)
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, fmt.Errorf("%q: write an IPv4 CIDR as such (10.0.0.0/8)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or an IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// DefaultReplayWindow is webhooks.max_age when unset.
const DefaultReplayWindow = 24 * time.Hour

// ReplayWindow is the effective webhooks.max_age.
func (w Webhooks) ReplayWindow() time.Duration {
	if w.MaxAge == nil {
		return DefaultReplayWindow
	}
	return *w.MaxAge
}

// applyDefaults fills in the defaults that the sections' own packages
// document (scoring, handoff, program) and the ones kept as nil pointers to tell
// "unset" from "0" (webhooks.max_age). Load calls it once, after
// validation, so that every command reads, and the start-up log shows,
// the values that run: threshold 30, half_life 30d, claim_sla 24h, the
// routing order, not zeros the constructors would replace later.
func (c *Config) applyDefaults() {
	// Scoring keeps the unassigned pseudo-partner off RFM and the
	// leaderboard; it is the directory's key, not a scoring one.
	c.Scoring.UnassignedPartner = c.Directory.UnassignedPartner
	c.Scoring = c.Scoring.WithDefaults()
	c.Handoff.Config = c.Handoff.Config.WithDefaults()
	c.Program = c.Program.WithDefaults()
	if c.Webhooks.MaxAge == nil {
		d := DefaultReplayWindow
		c.Webhooks.MaxAge = &d
	}
	// Defaults that depend on other keys, resolved here so that the
	// effective configuration logged at start shows them.
	if c.UI.SecureCookies == nil {
		v := c.SecureCookies()
		c.UI.SecureCookies = &v
	}
	if c.Webhooks.Mailgun.ReplayCache == nil {
		v := c.Webhooks.Mailgun.ReplayCacheOn(c.Webhooks.ReplayWindow())
		c.Webhooks.Mailgun.ReplayCache = &v
	}
}

// Validate reports every invalid value, naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.HTTP.Listen == "" {
		bad("http.listen", "required")
	}
	for key, d := range map[string]time.Duration{
		"http.read_header_timeout": c.HTTP.ReadHeaderTimeout, "http.read_timeout": c.HTTP.ReadTimeout,
		"http.write_timeout": c.HTTP.WriteTimeout, "http.idle_timeout": c.HTTP.IdleTimeout,
		"http.shutdown_timeout": c.HTTP.ShutdownTimeout, "worker.task_check_interval": c.Worker.TaskCheckInterval,
	} {
		if d <= 0 {
			bad(key, "must be positive, got %s", d)
		}
	}
	if c.HTTP.PublicURL != "" {
		if u, err := url.Parse(c.HTTP.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("http.public_url", "%q is not an absolute http(s) URL", c.HTTP.PublicURL)
		}
	}
	if c.HTTP.MaxBodyBytes <= 0 {
		bad("http.max_body_bytes", "must be positive")
	}
	for i, k := range c.API.Keys {
		if len(k) < 16 {
			bad(fmt.Sprintf("api.keys[%d]", i), "keys must be at least 16 characters")
		}
	}
	if _, err := zerolog.ParseLevel(c.Log.Level); err != nil || c.Log.Level == "" {
		bad("log.level", "%q is not one of trace, debug, info, warn, error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		bad("log.format", "%q is not json or console", c.Log.Format)
	}
	if c.Directory.UnassignedPartner == "" {
		bad("directory.unassigned_partner", "required")
	}
	if c.Worker.Concurrency <= 0 {
		bad("worker.concurrency", "must be positive")
	}
	if c.Webhooks.MaxAge != nil && *c.Webhooks.MaxAge < 0 {
		bad("webhooks.max_age", "must not be negative")
	}
	if mg := c.Webhooks.Mailgun; mg.SigningKey != "" && mg.ReplayCache != nil {
		switch window := c.Webhooks.ReplayWindow(); {
		case window > 0 && !*mg.ReplayCache:
			bad("webhooks.mailgun.replay_cache", "must be true while webhooks.max_age is %s: Mailgun signs only the timestamp "+
				"and token, so without it one captured signature carries any events for %s", window, window)
		case window == 0 && *mg.ReplayCache:
			bad("webhooks.mailgun.replay_cache", "needs webhooks.max_age > 0: without a replay window a token would have to be kept forever")
		}
	}
	for i, s := range c.HTTP.TrustedProxies {
		if _, err := parsePrefix(s); err != nil {
			bad(fmt.Sprintf("http.trusted_proxies[%d]", i), "%v", err)
		}
	}
	if t := c.Metrics.Token; t != "" && len(t) < 16 {
		bad("metrics.token", "must be at least 16 characters")
	}
	if s := c.Tracking.Secret; s != "" && len(s) < 32 {
		bad("tracking.secret", "must be at least 32 bytes")
	}
	if m := c.Webhooks.Mandrill; (m.Key == "") != (m.URL == "") {
		bad("webhooks.mandrill", "key and url go together")
	}
	if c.Ingest.MaxEvents <= 0 {
		bad("ingest.max_events", "must be positive")
	}
	if c.Ingest.MaxFutureSkew <= 0 {
		bad("ingest.max_future_skew", "must be positive, got %s", c.Ingest.MaxFutureSkew)
	}
	if err := c.Scoring.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("config: %w", err))
	}
	if _, err := topic.NewRules(c.Topics); err != nil {
		errs = append(errs, fmt.Errorf("config: %w", err))
	}
	if err := c.Nurture.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			errs = append(errs, errors.New("config: "+line))
		}
	}
	if err := c.Program.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			errs = append(errs, errors.New("config: "+line))
		}
	}
	if err := c.Handoff.Config.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("config: %w", err))
	}
	switch c.Handoff.Notify {
	case "email", "digest", "none":
	default:
		bad("handoff.notify", "%q is not email, digest or none", c.Handoff.Notify)
	}
	for i, h := range c.Handoff.Webhooks {
		if _, err := notify.NewWebhookSender([]notify.Webhook{h}, nil); err != nil {
			bad(fmt.Sprintf("handoff.webhooks[%d]", i), "%v", err)
		}
	}
	if c.SMTP.URL != "" && c.SMTP.From == "" {
		bad("smtp.from", "required with smtp.url")
	}
	if c.SMTP.Rate < 0 {
		bad("smtp.rate", "must not be negative (messages per second; 0 for unlimited), got %g", c.SMTP.Rate)
	}
	if c.SMTP.Sender != SenderRep && c.SMTP.Sender != SenderDomain {
		bad("smtp.sender", "%q is not rep or domain", c.SMTP.Sender)
	}
	if c.UI.SessionTTL <= 0 {
		bad("ui.session_ttl", "must be positive")
	}
	errs = append(errs, c.scheduleErrors()...)
	errs = append(errs, c.Retention.errors()...)
	return errors.Join(errs...)
}

// Masked returns the effective configuration as key path → value, with
// secrets replaced, for logging at start-up.
func (c *Config) Masked() map[string]any {
	out := map[string]any{}
	walkLeaves(reflect.ValueOf(c).Elem(), "", func(path string, v reflect.Value, f reflect.StructField) {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return
			}
			v = v.Elem()
		}
		val := v.Interface()
		if d, ok := val.(time.Duration); ok {
			val = FormatDuration(d)
		}
		switch f.Tag.Get("secret") {
		case "true":
			if !v.IsZero() {
				val = maskAll(v)
			}
		case "url":
			val = maskURL(v.String())
		}
		out[path] = val
	})
	return out
}

func maskAll(v reflect.Value) any {
	if v.Kind() == reflect.Slice {
		m := make([]string, v.Len())
		for i := range m {
			m[i] = "***"
		}
		return m
	}
	return "***"
}

func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if strings.Contains(s, "@") {
			return "***"
		}
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return u.String()
}

// FormatDuration writes d as the config file would say it: whole days of
// two or more as "30d", else Go's form without trailing zero units
// ("24h", "1h30m", "50ms").
func FormatDuration(d time.Duration) string {
	if d >= 2*24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
