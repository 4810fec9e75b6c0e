// Package mailer sends email built with github.com/jordan-wright/email over
// SMTP, with deadlines, a TLS policy, AUTH PLAIN or LOGIN, a send rate and
// a small connection pool whose sessions are checked before reuse.
//
// # Why not email.Send / SendWithTLS / SendWithStartTLS / email.Pool
//
// The library builds the message (Email.Bytes: headers, multipart
// alternative, quoted-printable) and this package uses exactly that. Its
// transports cannot be bounded in time: Send, SendWithTLS and
// SendWithStartTLS dial with net.Dial / tls.Dial and set no deadline, so a
// silent server blocks a worker for ever; Pool's timeout only bounds the
// wait for a free connection, not the conversation, Pool reads shared
// counters without a lock, and it hands out pooled connections without
// checking them, so a session the server closed after its idle timeout
// (421, then EOF) fails the next send. None of them takes a context.
// SendWithStartTLS also upgrades only opportunistically (it cannot insist
// on STARTTLS nor skip it) and silently skips AUTH when the server does
// not offer it. So the SMTP conversation here is the one those functions
// run (net/smtp: EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA), on a connection
// this package dials with the context and bounds with a deadline.
//
// # URL forms (smtp.url)
//
//	smtp://[user:pass@]host[:587]   STARTTLS required: a server that does
//	                                not offer it is refused
//	  ?tls=none                     no TLS at all (a local relay, the
//	                                embedded server); with credentials only
//	                                to localhost
//	smtps://[user:pass@]host[:465]  implicit TLS from the first byte
//	?insecure_skip_verify=true      accept any certificate (test servers)
//	?helo=name                      the EHLO name (default: the host name)
//
// The older starttls parameter still works on smtp:// URLs:
// starttls=require is the default above, starttls=off is tls=none, and
// starttls=auto upgrades only when the server offers STARTTLS. Giving
// both tls and starttls is an error.
//
// Credentials are sent with AUTH PLAIN when the server offers it, else
// AUTH LOGIN, and only over TLS or to localhost.
//
// # Pooled sessions
//
// Up to PoolSize sessions run at once and as many are kept between sends.
// A kept session idle for longer than CheckIdle (default 1s) is reused only
// after a liveness check (RSET, bounded by a short deadline): a server
// that dropped an idle client (421, EOF, reset) costs a redial, never a
// failed send. Should a reused session still fail before the message was
// handed over (a network error or 421 at MAIL, RCPT or DATA), the send
// redials once; nothing is resent once the message body was written. That
// redial is what keeps a session in back-to-back use, which no idle
// timeout can have closed, safe to reuse without the RSET round trip.
//
// # Errors
//
// A 5xx reply wraps ErrPermanent: the same message will be refused again.
// 4xx replies, network failures and a send rate wait that cannot finish in
// time are transient. A failure after the end of the message was written
// but before the server's reply was read also wraps ErrUncertain: the
// server may have accepted it, and a caller that must not send twice
// should not simply retry.
package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jordan-wright/email"
	"golang.org/x/time/rate"
)

var (
	// ErrPermanent marks a failure no retry of the same message can fix: a
	// 5xx reply, or a message that cannot be sent as built.
	ErrPermanent = errors.New("permanent SMTP failure")
	// ErrUncertain marks a failure after the whole message reached the
	// server: it may have been accepted.
	ErrUncertain = errors.New("the server may have accepted the message")
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("mailer: closed")
)

// Config configures a Mailer.
type Config struct {
	// URL is smtp.url; see the package documentation for its forms.
	URL string
	// From is smtp.from, e.g. "Longtail <noreply@vendor.example>". Send
	// uses it for messages whose From is empty.
	From string
	// Timeout bounds one Send from dialling to the server's final reply.
	// If zero, 30s.
	Timeout time.Duration
	// PoolSize is how many SMTP sessions may run at once; as many are
	// kept open between sends. If zero, 4.
	PoolSize int
	// Rate is smtp.rate: messages per second across every session of
	// this Mailer, with a burst of one second's worth (at least one).
	// Zero means unlimited; it must not be negative.
	Rate float64
	// CheckIdle: a kept session idle for longer than this is checked with
	// RSET before reuse. If zero, 1s; negative checks every reuse.
	// Sessions reused sooner skip the check (servers' idle timeouts are
	// tens of seconds or more) and rely on the one redial before the
	// message is handed over.
	CheckIdle time.Duration
	// Limiter, when set, paces sends instead of Rate; a *rate.Limiter
	// fits. Send calls Wait once per message before taking a session, and
	// a Wait error fails the send as transient. Tests inject one to
	// observe pacing without measuring time.
	Limiter Limiter
	// Observer, if set, hears how long each SMTP conversation took and how
	// it ended (package metrics turns it into a histogram). Nil observes
	// nothing.
	Observer Observer
}

// Observer hears every send that reached the SMTP stage: d runs from
// taking a session (a kept one or a new dial) to the server's final
// reply, so the rate limit and the wait for a free session are not in
// it. err is Send's result. It must be cheap and safe for concurrent use.
type Observer interface {
	ObserveSend(d time.Duration, err error)
}

// How a send ended, as metrics label it (Result).
const (
	ResultSent      = "sent"      // the server accepted the message
	ResultDeferred  = "deferred"  // a transient failure: nothing went out, a retry may send
	ResultFailed    = "failed"    // ErrPermanent: the same message will be refused again
	ResultUncertain = "uncertain" // ErrUncertain: the server may have taken it
)

// Result names how a send that returned err ended: ResultSent,
// ResultDeferred, ResultFailed or ResultUncertain. Every sender labels
// its email metrics with it, so "deferred" means the same everywhere.
func Result(err error) string {
	switch {
	case err == nil:
		return ResultSent
	case errors.Is(err, ErrUncertain):
		return ResultUncertain
	case errors.Is(err, ErrPermanent):
		return ResultFailed
	}
	return ResultDeferred
}

// Limiter paces sends (*rate.Limiter implements it).
type Limiter interface {
	Wait(ctx context.Context) error
}

// Redacted returns URL with any password masked, for logs.
func (c Config) Redacted() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return "(unparsable smtp.url)"
	}
	return u.Redacted()
}

const (
	defaultTimeout  = 30 * time.Second
	defaultPoolSize = 4
	// idleTimeout is how long an unused session is kept; servers commonly
	// drop idle clients after a minute or more, and the RSET probe before
	// reuse catches those that dropped earlier.
	idleTimeout      = 30 * time.Second
	defaultCheckIdle = time.Second
	// probeTimeout bounds the RSET that checks a kept session before
	// reuse: a live server answers at once, and a half-dead connection
	// must cost a redial, not the send's whole timeout.
	probeTimeout = 5 * time.Second
)

type starttlsMode int

const (
	starttlsAuto starttlsMode = iota
	starttlsRequire
	starttlsOff
)

type endpoint struct {
	addr, host  string
	implicitTLS bool
	starttls    starttlsMode
	tls         *tls.Config
	user, pass  string
	hasAuth     bool
	helo        string
}

// Mailer sends email. It is safe for concurrent use.
type Mailer struct {
	ep      endpoint
	from    string
	timeout time.Duration
	slots   chan struct{}
	limiter Limiter // nil: unlimited
	obs     Observer
	// checkIdle is Config.CheckIdle with its default.
	checkIdle time.Duration

	mu     sync.Mutex
	idle   []*session
	closed bool
}

type session struct {
	raw       net.Conn
	c         *smtp.Client
	idleSince time.Time
	// disarm detaches the session from the send that armed it; false
	// means the abort already fired and the session must not be reused.
	disarm func() bool
}

// New validates cfg and returns a Mailer. It does not connect: a server
// that is down at start-up is a transient condition for each send.
func New(cfg Config) (*Mailer, error) {
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("smtp timeout %s is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.PoolSize < 0 {
		return nil, fmt.Errorf("smtp pool size %d is negative", cfg.PoolSize)
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize = defaultPoolSize
	}
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("smtp.rate %g is negative: give messages per second, or 0 for unlimited", cfg.Rate)
	}
	if cfg.CheckIdle == 0 {
		cfg.CheckIdle = defaultCheckIdle
	}
	lim := cfg.Limiter
	if lim == nil && cfg.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate)))
	}
	ep, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.From) == "" {
		return nil, errors.New("smtp.from is empty: set the sender address, e.g. \"Longtail <noreply@vendor.example>\"")
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("smtp.from %q is not an email address: %v", cfg.From, err)
	}
	return &Mailer{
		ep:      ep,
		from:    cfg.From,
		timeout: cfg.Timeout,
		slots:   make(chan struct{}, cfg.PoolSize),
		limiter: lim,
		obs:     cfg.Observer,

		checkIdle: cfg.CheckIdle,
	}, nil
}

// parseURL never quotes the URL in an error: it may carry a password.
func parseURL(raw string) (endpoint, error) {
	var ep endpoint
	if strings.TrimSpace(raw) == "" {
		return ep, errors.New("smtp.url is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return ep, fmt.Errorf("smtp.url is not a valid URL: %v", err)
	}
	switch u.Scheme {
	case "smtp":
	case "smtps":
		ep.implicitTLS = true
	default:
		return ep, fmt.Errorf("smtp.url scheme %q is not supported: use smtp:// (STARTTLS) or smtps:// (implicit TLS)", u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return ep, errors.New("smtp.url has no host: expected smtp://[user:pass@]host:587 or smtps://[user:pass@]host:465")
	}
	if u.Path != "" && u.Path != "/" {
		return ep, errors.New("smtp.url must not have a path")
	}
	ep.host = u.Hostname()
	port := u.Port()
	if port == "" {
		port = "587"
		if ep.implicitTLS {
			port = "465"
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return ep, fmt.Errorf("smtp.url port %q is not a port number", port)
	}
	ep.addr = net.JoinHostPort(ep.host, port)
	if u.User != nil {
		ep.user = u.User.Username()
		ep.pass, _ = u.User.Password()
		ep.hasAuth = ep.user != ""
	}
	skipVerify := false
	ep.starttls = starttlsRequire
	q := u.Query()
	if q.Has("tls") && q.Has("starttls") {
		return ep, errors.New("smtp.url: give tls=none or the older starttls parameter, not both")
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "tls":
			if ep.implicitTLS {
				return ep, errors.New("smtp.url: tls does not apply to smtps:// (TLS from the first byte)")
			}
			switch v {
			case "none":
				ep.starttls = starttlsOff
			case "starttls":
				ep.starttls = starttlsRequire
			default:
				return ep, fmt.Errorf("smtp.url: tls=%q is not none or starttls (the default: STARTTLS required)", v)
			}
		case "starttls":
			if ep.implicitTLS {
				return ep, errors.New("smtp.url: starttls does not apply to smtps:// (TLS from the first byte)")
			}
			switch v {
			case "auto":
				ep.starttls = starttlsAuto
			case "require":
				ep.starttls = starttlsRequire
			case "off":
				ep.starttls = starttlsOff
			default:
				return ep, fmt.Errorf("smtp.url: starttls=%q is not one of auto, require, off", v)
			}
		case "insecure_skip_verify":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return ep, fmt.Errorf("smtp.url: insecure_skip_verify=%q is not a boolean", v)
			}
			skipVerify = b
		case "helo":
			if v == "" || strings.ContainsAny(v, " \t\r\n") {
				return ep, fmt.Errorf("smtp.url: helo=%q is not a host name", v)
			}
			ep.helo = v
		default:
			return ep, fmt.Errorf("smtp.url: unknown parameter %q (known: tls, starttls, insecure_skip_verify, helo)", k)
		}
	}
	if ep.hasAuth && ep.starttls == starttlsOff && !ep.implicitTLS && !isLocalhost(ep.host) {
		return ep, fmt.Errorf("smtp.url: credentials with tls=none would send the password in clear text to %s", ep.host)
	}
	if ep.helo == "" {
		ep.helo = "localhost"
		if h, err := os.Hostname(); err == nil && h != "" {
			ep.helo = h
		}
	}
	ep.tls = &tls.Config{ServerName: ep.host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: skipVerify} //nolint:gosec // opt-in for test servers
	return ep, nil
}

// isLocalhost matches net/smtp's PlainAuth, which sends credentials without
// TLS only to these names.
func isLocalhost(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }

// SetMessageID sets e's Message-ID. Callers derive id from the identity of
// what they send (a step, a hand-off), so a retried send carries the same
// Message-ID and receivers can tell it is the same message. id may be given
// with or without angle brackets; it must contain one '@'.
func SetMessageID(e *email.Email, id string) error {
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || strings.Contains(right, "@") ||
		strings.ContainsAny(id, " \t\r\n<>()[]\\,;:\"") {
		return fmt.Errorf("mailer: Message-ID %q is not of the form left@right", id)
	}
	if e.Headers == nil {
		e.Headers = textproto.MIMEHeader{}
	}
	e.Headers.Set("Message-ID", "<"+id+">")
	return nil
}

// Send delivers e. The message must carry a Message-ID (SetMessageID): one
// generated at random would differ on every retry. An empty From is filled
// with smtp.from; e itself is not modified.
//
// Send honours ctx and bounds the whole exchange by the configured Timeout,
// whichever ends first; a cancelled send aborts the connection at once.
func (m *Mailer) Send(ctx context.Context, e *email.Email) (err error) {
	if e == nil {
		return fmt.Errorf("mailer: nil message: %w", ErrPermanent)
	}
	if e.Headers.Get("Message-Id") == "" {
		return fmt.Errorf("mailer: message has no Message-ID; set one derived from what is sent so a retry carries the same id: %w", ErrPermanent)
	}
	if e.From == "" {
		cp := *e
		cp.From = m.from
		e = &cp
	}
	sender, rcpts, err := envelope(e)
	if err != nil {
		return fmt.Errorf("mailer: %v: %w", err, ErrPermanent)
	}
	raw, err := e.Bytes()
	if err != nil {
		return fmt.Errorf("mailer: build message: %v: %w", err, ErrPermanent)
	}

	if m.limiter != nil {
		if err := m.limiter.Wait(ctx); err != nil {
			return fmt.Errorf("mailer: waiting for the send rate (smtp.rate): %w", err)
		}
	}
	select {
	case m.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("mailer: waiting for a free SMTP session: %w", ctx.Err())
	}
	defer func() { <-m.slots }()
	if m.obs != nil {
		start := time.Now()
		defer func() { m.obs.ObserveSend(time.Since(start), err) }()
	}

	deadline := time.Now().Add(m.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	s, reused, err := m.session(ctx, deadline)
	if err != nil {
		return withCause(ctx, deadline, err)
	}
	err = m.transact(s, sender, rcpts, raw)
	if err != nil && reused && ctx.Err() == nil && droppedBeforeMessage(err) {
		// The kept session died before the message was handed over: the
		// server closed it since its last use. Nothing was sent, so one
		// fresh session may try again.
		s.disarm()
		s.close()
		if s, err = m.dial(ctx, deadline); err != nil {
			return withCause(ctx, deadline, err)
		}
		err = m.transact(s, sender, rcpts, raw)
	}
	if !s.disarm() || err != nil {
		s.close()
		if err != nil {
			return withCause(ctx, deadline, err)
		}
		return nil
	}
	m.release(s)
	return nil
}

// beforeMessage marks a failure at MAIL, RCPT or the DATA command: the
// message itself was not handed over. code is the server's reply code, 0
// for a network failure (classify keeps the code only in the text).
type beforeMessage struct {
	err  error
	code int
}

func (b beforeMessage) Error() string { return b.err.Error() }
func (b beforeMessage) Unwrap() error { return b.err }

// failedBefore classifies err from stage and marks it beforeMessage.
func failedBefore(stage string, err error) error {
	b := beforeMessage{err: classify(stage, err, false)}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		b.code = tp.Code
	}
	return b
}

// droppedBeforeMessage tells whether err is a session the server closed
// (a network error or 421, "closing transmission channel") before the
// message was handed over; any other reply is the server's answer to this
// message and stands.
func droppedBeforeMessage(err error) bool {
	var b beforeMessage
	return errors.As(err, &b) && (b.code == 0 || b.code == 421)
}

// withCause says why a network operation failed when it was the deadline
// or the caller's cancellation that cut it short. The connection deadline
// can fire a hair before the context's timer, hence the clock check.
func withCause(ctx context.Context, deadline time.Time, err error) error {
	cerr := ctx.Err()
	if cerr == nil && !time.Now().Before(deadline) {
		cerr = context.DeadlineExceeded
	}
	if cerr != nil {
		return fmt.Errorf("%w (%w)", err, cerr)
	}
	return err
}

// envelope returns the SMTP envelope: sender from Sender or From,
// recipients from To, Cc and Bcc (Bcc is never written into the headers).
func envelope(e *email.Email) (string, []string, error) {
	sender := e.Sender
	if sender == "" {
		sender = e.From
	}
	sa, err := mail.ParseAddress(sender)
	if err != nil {
		// Addresses stay out of errors: they are logged.
		return "", nil, fmt.Errorf("sender address: %v", err)
	}
	var rcpts []string
	for _, list := range [][]string{e.To, e.Cc, e.Bcc} {
		for _, r := range list {
			a, err := mail.ParseAddress(r)
			if err != nil {
				return "", nil, fmt.Errorf("recipient address: %v", err)
			}
			rcpts = append(rcpts, a.Address)
		}
	}
	if len(rcpts) == 0 {
		return "", nil, errors.New("message has no recipient")
	}
	return sa.Address, rcpts, nil
}

// session returns an SMTP session, reusing a kept one that was idle for
// at most checkIdle or whose RSET succeeds within probeTimeout, and arms
// it to abort when ctx ends.
// reused says whether it was a kept session.
func (m *Mailer) session(ctx context.Context, deadline time.Time) (s *session, reused bool, err error) {
	for {
		s, err := m.takeIdle()
		if err != nil {
			return nil, false, err
		}
		if s == nil {
			break
		}
		if time.Since(s.idleSince) <= m.checkIdle {
			m.arm(ctx, s, deadline)
			return s, true, nil
		}
		probe := time.Now().Add(probeTimeout)
		if deadline.Before(probe) {
			probe = deadline
		}
		m.arm(ctx, s, probe)
		ok := s.c.Reset() == nil
		if armed := s.disarm(); ok && armed {
			m.arm(ctx, s, deadline)
			return s, true, nil
		}
		s.close()
	}
	s, err = m.dial(ctx, deadline)
	return s, false, err
}

func (m *Mailer) takeIdle() (*session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	for len(m.idle) > 0 {
		s := m.idle[len(m.idle)-1]
		m.idle = m.idle[:len(m.idle)-1]
		if time.Since(s.idleSince) < idleTimeout {
			return s, nil
		}
		s.close()
	}
	return nil, nil
}

// arm bounds s by deadline and makes the end of ctx (cancellation or
// deadline) abort any blocked read or write at once.
func (m *Mailer) arm(ctx context.Context, s *session, deadline time.Time) {
	_ = s.raw.SetDeadline(deadline)
	s.disarm = context.AfterFunc(ctx, func() { _ = s.raw.SetDeadline(time.Unix(1, 0)) })
}

// release keeps a disarmed session for the next send.
func (m *Mailer) release(s *session) {
	_ = s.raw.SetDeadline(time.Time{})
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || len(m.idle) >= cap(m.slots) {
		go s.quit()
		return
	}
	s.idleSince = time.Now()
	m.idle = append(m.idle, s)
}

func (m *Mailer) dial(ctx context.Context, deadline time.Time) (*session, error) {
	var (
		raw net.Conn
		err error
		nd  net.Dialer
	)
	if m.ep.implicitTLS {
		td := tls.Dialer{NetDialer: &nd, Config: m.ep.tls}
		raw, err = td.DialContext(ctx, "tcp", m.ep.addr)
	} else {
		raw, err = nd.DialContext(ctx, "tcp", m.ep.addr)
	}
	if err != nil {
		return nil, classify("connect to "+m.ep.addr, err, false)
	}
	s := &session{raw: raw}
	m.arm(ctx, s, deadline)
	if err := m.handshake(s); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// handshake reads the greeting, says EHLO, upgrades per the STARTTLS
// policy and authenticates.
func (m *Mailer) handshake(s *session) error {
	c, err := smtp.NewClient(s.raw, m.ep.host)
	if err != nil {
		return classify("greeting", err, false)
	}
	s.c = c
	if err := c.Hello(m.ep.helo); err != nil {
		return classify("EHLO", err, false)
	}
	// Extension swallows EHLO errors; NOOP runs EHLO first and reports them.
	if err := c.Noop(); err != nil {
		return classify("EHLO", err, false)
	}
	if !m.ep.implicitTLS && m.ep.starttls != starttlsOff {
		ok, _ := c.Extension("STARTTLS")
		switch {
		case ok:
			if err := c.StartTLS(m.ep.tls); err != nil {
				return classify("STARTTLS", err, false)
			}
		case m.ep.starttls == starttlsRequire:
			return errors.New("mailer: server does not offer STARTTLS, which smtp.url requires (add ?tls=none only for a relay without TLS)")
		}
	}
	if m.ep.hasAuth {
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return errors.New("mailer: server does not offer AUTH but smtp.url has credentials")
		}
		var auth smtp.Auth
		switch offered := strings.Fields(strings.ToUpper(mechs)); {
		case slices.Contains(offered, "PLAIN"):
			auth = smtp.PlainAuth("", m.ep.user, m.ep.pass, m.ep.host)
		case slices.Contains(offered, "LOGIN"):
			auth = &loginAuth{user: m.ep.user, pass: m.ep.pass, host: m.ep.host}
		default:
			return fmt.Errorf("mailer: server offers AUTH %s but neither PLAIN nor LOGIN", strings.Join(offered, " "))
		}
		if err := c.Auth(auth); err != nil {
			return classify("AUTH", err, false)
		}
	}
	return nil
}

// loginAuth is AUTH LOGIN, which net/smtp lacks: the server asks for the
// user name, then the password, each base64 encoded (net/smtp does the
// encoding). Like smtp.PlainAuth it refuses to send them in clear text
// except to localhost.
type loginAuth struct {
	user, pass, host string
	step             int
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLocalhost(server.Name) {
		return "", nil, errors.New("mailer: AUTH LOGIN refused over an unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("mailer: AUTH LOGIN: wrong host name")
	}
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	// Servers prompt "Username:" then "Password:"; some send other
	// words, so the order decides when the prompt says neither.
	prompt := strings.ToLower(string(fromServer))
	a.step++
	switch {
	case strings.HasPrefix(prompt, "user"):
		return []byte(a.user), nil
	case strings.HasPrefix(prompt, "pass"):
		return []byte(a.pass), nil
	case a.step == 1:
		return []byte(a.user), nil
	case a.step == 2:
		return []byte(a.pass), nil
	}
	return nil, errors.New("mailer: AUTH LOGIN: unexpected server challenge")
}

func (m *Mailer) transact(s *session, sender string, rcpts []string, raw []byte) error {
	if err := s.c.Mail(sender); err != nil {
		return failedBefore("MAIL FROM", err)
	}
	for _, r := range rcpts {
		if err := s.c.Rcpt(r); err != nil {
			return failedBefore("RCPT TO", err)
		}
	}
	w, err := s.c.Data()
	if err != nil {
		return failedBefore("DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		_ = w.Close()
		return classify("DATA", err, false)
	}
	if err := w.Close(); err != nil {
		return classify("end of DATA", err, true)
	}
	return nil
}

// classify maps an SMTP reply code to a retry decision. uncertain is set
// when the failure came after the end of the message was written.
func classify(stage string, err error, uncertain bool) error {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		msg := redactAddresses(tp.Msg)
		if tp.Code >= 500 && tp.Code < 600 {
			return fmt.Errorf("mailer: %s: %d %s: %w", stage, tp.Code, msg, ErrPermanent)
		}
		return fmt.Errorf("mailer: %s: %d %s", stage, tp.Code, msg)
	}
	if uncertain {
		return fmt.Errorf("mailer: %s: %w: %w", stage, err, ErrUncertain)
	}
	return fmt.Errorf("mailer: %s: %w", stage, err)
}

// addressLike matches what servers quote in replies ("<jane@x>: Recipient
// address rejected").
var addressLike = regexp.MustCompile(`[^\s<>"'@]+@[^\s<>"']+`)

// redactAddresses keeps email addresses out of errors, which end up in
// logs and in the task store above debug level.
func redactAddresses(s string) string { return addressLike.ReplaceAllString(s, "[address]") }

func (s *session) close() {
	if s.c != nil {
		_ = s.c.Close()
		return
	}
	_ = s.raw.Close()
}

// quit ends a session politely, bounded so a stuck server cannot hold the
// goroutine.
func (s *session) quit() {
	_ = s.raw.SetDeadline(time.Now().Add(5 * time.Second))
	_ = s.c.Quit()
	s.close()
}

// Close ends the idle sessions; Send fails with ErrClosed afterwards.
// Sends in flight finish and close their sessions.
func (m *Mailer) Close() error {
	m.mu.Lock()
	idle := m.idle
	m.idle, m.closed = nil, true
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range idle {
		wg.Add(1)
		go func() { defer wg.Done(); s.quit() }()
	}
	wg.Wait()
	return nil
}
