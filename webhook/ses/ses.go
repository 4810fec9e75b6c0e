// Package ses receives Amazon SES events delivered by Amazon SNS over
// HTTP(S).
//
// SNS POSTs a JSON envelope (Content-Type text/plain) of Type Notification,
// SubscriptionConfirmation or UnsubscribeConfirmation. The envelope is
// authenticated as AWS documents it: the string to sign is built from the
// envelope's own fields ("key\nvalue\n" for Message, MessageId, Subject when
// present and not null, SubscribeURL, Timestamp, Token, TopicArn and Type, in
// that byte order, each only where the Type uses it), and Signature is an RSA
// PKCS #1 v1.5 signature over it with SHA1 (SignatureVersion "1") or SHA256
// ("2") by the key of the certificate at SigningCertURL. Both key casings,
// SigningCertURL and Lambda's SigningCertUrl, are accepted.
//
// A message whose signed Timestamp is more than Config.MaxAge from now is
// refused before its certificate is looked at, so a captured notification
// cannot be scored again once its event ids have left the dedup window.
//
// The signing certificate comes from one of two places (see Config.CertDir):
// pinned files the operator placed, or an HTTPS fetch from
// sns.<region>.amazonaws.com[.cn] whose result must chain to a trusted root.
// A SigningCertURL that is not an https .pem URL on such a host is refused
// before anything is fetched or read. Pinning is the production setting:
// it never fetches on behalf of unauthenticated callers. Unpinned, the
// fetches they can cause are bounded: certificates are cached
// (CertCacheSize), so are failures (FailureTTL), copies of one message share
// one fetch, and no more than MaxFetches are in flight; a certificate that
// cannot be fetched or trusted is ErrUnauthorized, never a retryable error.
//
// A SubscriptionConfirmation is confirmed inside Handle by a GET of its
// SubscribeURL (same host rule). A Notification whose Message is an SES
// event record (event publishing, "eventType", or the older feedback
// notifications, "notificationType") becomes canonical events; every other
// authentic message is acknowledged and counted as ignored.
//
// Event ids: SES records carry no per-event id, and SNS redelivers the same
// record on retry, so
//
//	event.HashID("ses", type, mail.messageId, recipient, timestamp, link)
//
// where type is the record's eventType (or notificationType), recipient the
// normalised address (or "contact:" + lt_contact when the record names no
// single address), timestamp the event's own timestamp exactly as sent
// (bounce.timestamp, open.timestamp, ...; mail.timestamp when absent) and
// link the clicked URL (empty except for clicks). The same fact redelivered,
// or published both as an event and as a feedback notification, gets the
// same id.
package ses

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/longtailhq/longtail/webhook"
)

// SNS message types.
const (
	typeNotification = "Notification"
	typeSubscribe    = "SubscriptionConfirmation"
	typeUnsubscribe  = "UnsubscribeConfirmation"
)

// Defaults for zero Config fields.
const (
	defaultHTTPTimeout      = 10 * time.Second
	defaultCertCacheSize    = 32
	defaultFailureTTL       = time.Minute
	defaultFailureCacheSize = 1024
	defaultMaxFetches       = 4
)

// Config configures the SES provider. The zero Config is usable: it fetches
// signing certificates from AWS, trusts the system roots and accepts every
// topic.
type Config struct {
	// TopicARNs is an optional allow-list of SNS topic ARNs. When non-empty,
	// a message from any other topic is refused as unauthorized (and a
	// subscription to it is never confirmed). Empty accepts every topic
	// whose messages AWS signed.
	TopicARNs []string
	// CertDir, when set, pins the signing certificates: the certificate for
	// a message is the PEM file in CertDir named after the last path element
	// of its SigningCertURL, and nothing is ever fetched. A pinned
	// certificate is trusted as the operator placed it: no chain or validity
	// dates are checked. A message whose certificate file is missing is
	// refused as unauthorized. Empty fetches certificates over HTTPS.
	CertDir string
	// HTTPClient fetches signing certificates and confirms subscriptions.
	// Redirects are never followed. If nil, a client with a 10 s timeout.
	HTTPClient *http.Client
	// Roots verifies the chain of fetched certificates. If nil, the system
	// roots. Not used with CertDir.
	Roots *x509.CertPool
	// CertCacheSize bounds how many fetched certificates are kept in memory,
	// by URL; the least recently used is dropped first. If zero, 32. AWS
	// uses one certificate per region at a time, so a few suffice.
	CertCacheSize int
	// MaxAge refuses a message whose signed Timestamp is more than MaxAge
	// before or after now (webhooks.max_age). Zero disables the check.
	MaxAge time.Duration
	// FailureTTL is how long a SigningCertURL whose certificate could not
	// be fetched or trusted is refused without being fetched again. If
	// zero, one minute: long enough that repeating a bad URL costs AWS
	// nothing, short enough that a real certificate is tried again soon
	// after AWS had a bad moment. Not used with CertDir.
	FailureTTL time.Duration
	// FailureCacheSize bounds how many failed URLs are remembered; the
	// least recently used is dropped first. If zero, 1024.
	FailureCacheSize int
	// MaxFetches bounds the certificate fetches in flight at once. A
	// message whose certificate would need one more is refused as
	// unauthorized without fetching (copies of one message wait for the
	// fetch already running instead). If zero, 4. Not used with CertDir.
	MaxFetches int
}

// Provider verifies and parses SNS deliveries of SES events. It is safe for
// concurrent use.
type Provider struct {
	topics   map[string]bool
	certDir  string
	client   *http.Client
	roots    *x509.CertPool
	maxAge   time.Duration
	cache    *certCache
	failures *failureCache
	fetches  *fetchGroup
}

var _ webhook.Provider = (*Provider)(nil)

// topicARN matches SNS topic ARNs in every partition (aws, aws-cn,
// aws-us-gov...).
var topicARN = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$`)

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	p := &Provider{roots: cfg.Roots, client: cfg.HTTPClient}
	if len(cfg.TopicARNs) > 0 {
		p.topics = make(map[string]bool, len(cfg.TopicARNs))
		for i, arn := range cfg.TopicARNs {
			if !topicARN.MatchString(arn) {
				return nil, fmt.Errorf("ses: Config.TopicARNs[%d] %q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", i, arn)
			}
			p.topics[arn] = true
		}
	}
	if cfg.CertDir != "" {
		fi, err := os.Stat(cfg.CertDir)
		if err != nil {
			return nil, fmt.Errorf("ses: Config.CertDir: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("ses: Config.CertDir %q is not a directory", cfg.CertDir)
		}
		p.certDir = cfg.CertDir
	}
	if cfg.CertCacheSize < 0 {
		return nil, fmt.Errorf("ses: Config.CertCacheSize %d must not be negative (0 means %d)", cfg.CertCacheSize, defaultCertCacheSize)
	}
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("ses: Config.MaxAge %s must not be negative (0 disables the check)", cfg.MaxAge)
	}
	if cfg.FailureTTL < 0 || cfg.FailureCacheSize < 0 || cfg.MaxFetches < 0 {
		return nil, fmt.Errorf("ses: Config.FailureTTL, FailureCacheSize and MaxFetches must not be negative (0 means %s, %d and %d)",
			defaultFailureTTL, defaultFailureCacheSize, defaultMaxFetches)
	}
	p.maxAge = cfg.MaxAge
	p.cache = newCertCache(orDefault(cfg.CertCacheSize, defaultCertCacheSize))
	p.failures = newFailureCache(orDefault(cfg.FailureCacheSize, defaultFailureCacheSize), orDefault(cfg.FailureTTL, defaultFailureTTL))
	p.fetches = newFetchGroup(orDefault(cfg.MaxFetches, defaultMaxFetches))
	if p.client == nil {
		// A pool of its own: a CloseIdleConnections on
		// http.DefaultTransport elsewhere in the process would break a
		// certificate fetch in flight.
		p.client = &http.Client{Timeout: defaultHTTPTimeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return p, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Name implements webhook.Provider.
func (p *Provider) Name() string { return "ses" }

// envelope is the SNS HTTP(S) message. Go matches JSON keys to fields
// case-insensitively, which is what accepts Lambda's SigningCertUrl; the
// values verified are exactly the values used afterwards.
type envelope struct {
	Type             string  `json:"Type"`
	MessageID        string  `json:"MessageId"`
	Token            string  `json:"Token"`
	TopicArn         string  `json:"TopicArn"`
	Subject          *string `json:"Subject"`
	Message          string  `json:"Message"`
	SubscribeURL     string  `json:"SubscribeURL"`
	Timestamp        string  `json:"Timestamp"`
	SignatureVersion string  `json:"SignatureVersion"`
	Signature        string  `json:"Signature"`
	SigningCertURL   string  `json:"SigningCertURL"`
}

// Handle implements webhook.Provider.
func (p *Provider) Handle(ctx context.Context, req *webhook.Request) (*webhook.Result, error) {
	now := req.Now
	if now.IsZero() {
		// The HTTP layer always sets Now; a zero clock must not make every
		// fetched certificate look expired.
		now = time.Now()
	}
	env, err := p.verify(ctx, req.Body, now)
	if err != nil {
		return nil, err
	}
	if p.topics != nil && !p.topics[env.TopicArn] {
		return nil, fmt.Errorf("%w: ses: topic %s is not in Config.TopicARNs", webhook.ErrUnauthorized, env.TopicArn)
	}
	res := &webhook.Result{}
	switch env.Type {
	case typeSubscribe:
		if err := p.confirm(ctx, env.SubscribeURL); err != nil {
			return nil, err
		}
		res.Ignore(typeSubscribe)
	case typeUnsubscribe:
		res.Ignore(typeUnsubscribe)
	case typeNotification:
		if err := parseMessage(env.Message, res); err != nil {
			return nil, fmt.Errorf("%w: ses: message %s: %v", webhook.ErrBadPayload, env.MessageID, err)
		}
	}
	return res, nil
}

// verify authenticates the envelope. Until the signature checks out nothing
// in the body is trusted, so every failure here, a body that is not an SNS
// envelope or a certificate that cannot be fetched included, is
// ErrUnauthorized; only a broken pinned file is returned plain (ours to fix).
func (p *Provider) verify(ctx context.Context, body []byte, now time.Time) (*envelope, error) {
	unauthorized := func(format string, args ...any) error {
		return fmt.Errorf("%w: ses: %s", webhook.ErrUnauthorized, fmt.Sprintf(format, args...))
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, unauthorized("body is not an SNS message: %v", err)
	}
	toSign, err := stringToSign(&env)
	if err != nil {
		return nil, unauthorized("%v", err)
	}
	var hash crypto.Hash
	switch env.SignatureVersion {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return nil, unauthorized("unsupported SignatureVersion %q", env.SignatureVersion)
	}
	if env.Signature == "" || env.SigningCertURL == "" {
		return nil, unauthorized("Signature and SigningCertURL are required")
	}
	// Strict: a non-canonical encoding could differ in ignored padding bits
	// and still decode to the same signature.
	sig, err := base64.StdEncoding.Strict().DecodeString(env.Signature)
	if err != nil {
		return nil, unauthorized("Signature is not base64")
	}
	// Before the certificate: an old message is refused whoever signed it,
	// and costs no fetch.
	if p.maxAge > 0 {
		ts, err := time.Parse(time.RFC3339Nano, env.Timestamp)
		if err != nil {
			return nil, unauthorized("Timestamp %q is not an RFC 3339 time", env.Timestamp)
		}
		if err := webhook.CheckAge(ts, now, p.maxAge); err != nil {
			return nil, fmt.Errorf("ses: message %s: %w", env.MessageID, err)
		}
	}
	cert, err := p.certificate(ctx, env.SigningCertURL, now)
	if err != nil {
		return nil, err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, unauthorized("signing certificate %s has no RSA key", env.SigningCertURL)
	}
	var digest []byte
	if hash == crypto.SHA1 {
		d := sha1.Sum([]byte(toSign))
		digest = d[:]
	} else {
		d := sha256.Sum256([]byte(toSign))
		digest = d[:]
	}
	if err := rsa.VerifyPKCS1v15(pub, hash, digest, sig); err != nil {
		return nil, unauthorized("signature does not match")
	}
	return &env, nil
}

// stringToSign builds AWS's canonical string for the envelope's Type. An
// unknown Type cannot be verified, and neither can one missing a field the
// Type signs.
func stringToSign(env *envelope) (string, error) {
	type field struct {
		key   string
		value *string
	}
	var fields []field
	switch env.Type {
	case typeNotification:
		fields = []field{
			{"Message", &env.Message}, {"MessageId", &env.MessageID}, {"Subject", env.Subject},
			{"Timestamp", &env.Timestamp}, {"TopicArn", &env.TopicArn}, {"Type", &env.Type},
		}
	case typeSubscribe, typeUnsubscribe:
		fields = []field{
			{"Message", &env.Message}, {"MessageId", &env.MessageID}, {"SubscribeURL", &env.SubscribeURL},
			{"Timestamp", &env.Timestamp}, {"Token", &env.Token}, {"TopicArn", &env.TopicArn}, {"Type", &env.Type},
		}
	default:
		return "", fmt.Errorf("unknown message Type %q", env.Type)
	}
	var b strings.Builder
	for _, f := range fields {
		if f.value == nil {
			continue // Subject, only when present and not null
		}
		if *f.value == "" && f.key != "Subject" && f.key != "Message" {
			return "", fmt.Errorf("%s is required", f.key)
		}
		b.WriteString(f.key)
		b.WriteByte('\n')
		b.WriteString(*f.value)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// snsHost is the only host signing certificates and subscription URLs may
// live on: an SNS regional endpoint, the region spelled as AWS spells them
// (us-east-1, us-gov-west-1, cn-north-1), so a message cannot make longtail
// look up arbitrary names under amazonaws.com.
var snsHost = regexp.MustCompile(`^sns\.[a-z]{2}(-[a-z]+)+-[0-9]{1,2}\.amazonaws\.com(\.cn)?$`)

// snsURL parses raw and checks it is https on an SNS regional endpoint, on
// the default port, without credentials.
func snsURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("%q is not https", raw)
	}
	if u.User != nil || (u.Port() != "" && u.Port() != "443") || !snsHost.MatchString(u.Hostname()) {
		return nil, fmt.Errorf("%q is not on an sns.<region>.amazonaws.com host", raw)
	}
	return u, nil
}

// confirm GETs the SubscribeURL. A URL off AWS is a malformed message; a
// failed GET is returned plain so that SNS retries the confirmation.
func (p *Provider) confirm(ctx context.Context, subscribeURL string) error {
	u, err := snsURL(subscribeURL)
	if err != nil {
		return fmt.Errorf("%w: ses: SubscribeURL: %v", webhook.ErrBadPayload, err)
	}
	resp, err := p.get(ctx, u)
	if err != nil {
		return fmt.Errorf("ses: confirming subscription: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ses: confirming subscription: %s answered %s", u.Host, resp.Status)
	}
	return nil
}

// get fetches u without following redirects: the host rule was checked on
// u, and a redirect would leave it.
func (p *Provider) get(ctx context.Context, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	c := *p.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c.Do(req)
}
