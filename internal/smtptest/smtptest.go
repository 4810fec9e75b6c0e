// Package smtptest runs a real SMTP server inside a test process, so code
// that sends mail is tested over TCP against a server that speaks the
// protocol (github.com/emersion/go-smtp), not against a fake.
//
// The server records every accepted message, can require AUTH (PLAIN,
// LOGIN or both), can offer STARTTLS or speak implicit TLS with a
// self-signed certificate, can be told to reply with an error code at a
// given stage or to stall before answering the end of DATA, and can time
// out its idle sessions on demand (421, then close) as a real server does
// after its idle timeout.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLSMode says how the server offers TLS.
type TLSMode int

const (
	// Plain offers no TLS at all.
	Plain TLSMode = iota
	// StartTLS listens in clear text and offers STARTTLS.
	StartTLS
	// ImplicitTLS speaks TLS from the first byte (the smtps:// form).
	ImplicitTLS
)

// Options configure a server. The zero value is a clear-text server that
// accepts mail without authentication.
type Options struct {
	TLS TLSMode
	// Username and Password, when Username is set, make AUTH mandatory
	// before MAIL FROM.
	Username, Password string
	// AuthMechanisms are the SASL mechanisms offered with a Username, in
	// order: "PLAIN", "LOGIN". If empty, PLAIN only.
	AuthMechanisms []string
}

// Stage names the command a rejection applies to.
type Stage int

// Stages at which Reject can make the server fail.
const (
	StageMail Stage = iota
	StageRcpt
	StageData
)

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	// Data is the message exactly as received after the end of DATA, dot
	// stuffing removed.
	Data []byte
	// TLS is whether the session was encrypted when DATA ran.
	TLS bool
	// User is the authenticated user, empty without AUTH.
	User string
	// Mechanism is the SASL mechanism the client authenticated with.
	Mechanism string
	// Helo is the name the client gave in EHLO/HELO.
	Helo string
}

// Server is a running SMTP server on 127.0.0.1.
type Server struct {
	// Addr is host:port of the listener.
	Addr string
	// URL is an smtp:// or smtps:// URL for this server in the form the
	// mailer package accepts: credentials when Options has them, tls=none
	// for a Plain server (the mailer requires STARTTLS otherwise), and
	// insecure_skip_verify=true with TLS since the certificate is
	// self-signed.
	URL string

	opts  Options
	srv   *smtp.Server
	ln    net.Listener
	certs *x509.CertPool

	mu        sync.Mutex
	conns     map[*trackedConn]struct{}
	accepted  int
	msgs      []Message
	rejects   map[Stage]*smtp.SMTPError
	dataDelay time.Duration
	closed    bool
	// done is closed by Close: it ends a DelayData stall, so no session
	// goroutine outlives the test that started the server.
	done chan struct{}
}

// Start runs a clear-text server without authentication until the test ends.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith runs a server configured by o until the test ends.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{opts: o, rejects: map[Stage]*smtp.SMTPError{}, conns: map[*trackedConn]struct{}{}, done: make(chan struct{})}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "smtptest.localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	// Without TLS, AUTH is offered anyway, as a local relay does.
	srv.AllowInsecureAuth = o.TLS == Plain
	// go-smtp logs after the test may have returned; t.Logf would panic then.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if o.TLS != Plain {
		cfg, pool, cerr := selfSigned()
		if cerr != nil {
			t.Fatalf("smtptest: certificate: %v", cerr)
		}
		s.certs = pool
		srv.TLSConfig = cfg
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	// Tracking sits under TLS: go-smtp recognises a TLS session by its
	// connection being a *tls.Conn.
	var l net.Listener = trackingListener{tcp, s}
	if o.TLS == ImplicitTLS {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	s.srv, s.ln = srv, tcp
	s.Addr = tcp.Addr().String()
	s.URL = s.buildURL()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(s.Close)
	return s
}

func (s *Server) buildURL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr}
	q := url.Values{}
	switch s.opts.TLS {
	case Plain:
		q.Set("tls", "none")
	case StartTLS:
		q.Set("insecure_skip_verify", "true")
	case ImplicitTLS:
		u.Scheme = "smtps"
		q.Set("insecure_skip_verify", "true")
	}
	if s.opts.Username != "" {
		u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Messages returns a copy of the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		m.To = append([]string(nil), m.To...)
		m.Data = append([]byte(nil), m.Data...)
		out[i] = m
	}
	return out
}

// Reject makes every later command at stage fail with code (4xx or 5xx)
// and msg. A code of 0 lifts the rejection.
func (s *Server) Reject(stage Stage, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.rejects, stage)
		return
	}
	s.rejects[stage] = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: msg}
}

// DelayData makes the server wait d after reading a message and before
// answering the end of DATA, as a slow or stuck server would, or until
// the server is closed, whichever comes first. The message is still
// recorded: a client that gave up cannot know it was accepted.
func (s *Server) DelayData(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataDelay = d
}

// Connections returns how many connections the server has accepted, so a
// test can tell whether a client reused its sessions.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// DropConnections closes every open connection without stopping the
// listener, as a server does with clients idle for too long.
func (s *Server) DropConnections() {
	open := s.openConns()
	for _, c := range open {
		_ = c.Close()
	}
}

// ExpireIdle makes every open session time out now, exactly as go-smtp's
// own idle timeout (Server.ReadTimeout) does: the server answers "421
// 4.4.2 Idle timeout" and closes the connection. It returns once they are
// closed, so a client's next command meets a dead session, without the
// test waiting for a real timeout. Call it between sends: a session in the
// middle of a command would be cut short.
func (s *Server) ExpireIdle() {
	open := s.openConns()
	for _, c := range open {
		// The read deadline in the past wakes the session's blocked read
		// with a timeout, which go-smtp answers with 421 and a close.
		_ = c.SetReadDeadline(time.Unix(1, 0))
	}
	for _, c := range open {
		<-c.done
	}
}

// openConns is a snapshot of the open connections.
func (s *Server) openConns() []*trackedConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	open := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	return open
}

// trackingListener counts accepted connections and remembers the open ones
// for DropConnections.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	l.s.accepted++
	tc := &trackedConn{Conn: c, s: l.s, done: make(chan struct{})}
	l.s.conns[tc] = struct{}{}
	l.s.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
	done chan struct{} // closed by Close
}

func (c *trackedConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	err := c.Conn.Close()
	c.once.Do(func() { close(c.done) })
	return err
}

// CertPool holds the server's self-signed certificate (nil without TLS),
// for clients that verify it instead of skipping verification.
func (s *Server) CertPool() *x509.CertPool { return s.certs }

// Close stops the server and drops open sessions; later connections are
// refused. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	// Closing the listener here too: Serve may not have registered it with
	// go-smtp yet when a test closes the server right after Start.
	_ = s.ln.Close()
	_ = s.srv.Close()
}

func (s *Server) reject(stage Stage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.rejects[stage]; ok {
		return e
	}
	return nil
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	mech string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	if len(ss.s.opts.AuthMechanisms) == 0 {
		return []string{sasl.Plain}
	}
	return ss.s.opts.AuthMechanisms
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	offered := false
	for _, m := range ss.AuthMechanisms() {
		offered = offered || m == mech
	}
	check := func(username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user, ss.mech = username, mech
		return nil
	}
	switch {
	case offered && mech == sasl.Plain:
		return sasl.NewPlainServer(func(_, username, password string) error { return check(username, password) }), nil
	case offered && mech == sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN, which go-sasl no longer
// ships: prompt for the user name, then the password.
type loginServer struct {
	check    func(username, password string) error
	username string
	step     int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	l.step++
	switch l.step {
	case 1:
		if response != nil { // an initial response is the user name
			l.username = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.username = string(response)
		return []byte("Password:"), false, nil
	case 3:
		return nil, true, l.check(l.username, string(response))
	}
	return nil, true, smtp.ErrAuthFailed
}

func (ss *session) authed() error {
	if ss.s.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if err := ss.authed(); err != nil {
		return err
	}
	if err := ss.s.reject(StageMail); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.authed(); err != nil {
		return err
	}
	if err := ss.s.reject(StageRcpt); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if err := ss.authed(); err != nil {
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.s.reject(StageData); err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, Message{
		From: ss.from, To: append([]string(nil), ss.to...), Data: b,
		TLS: isTLS, User: ss.user, Mechanism: ss.mech, Helo: ss.conn.Hostname(),
	})
	delay := ss.s.dataDelay
	ss.s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ss.s.done:
		}
	}
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// selfSigned makes a short-lived ECDSA certificate for 127.0.0.1 and
// localhost: fast to generate, so each server gets its own.
func selfSigned() (*tls.Config, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
		MinVersion:   tls.VersionTLS12,
	}
	return cfg, pool, nil
}

// String describes the server for test failure messages.
func (s *Server) String() string {
	mode := [...]string{"plain", "starttls", "implicit-tls"}[s.opts.TLS]
	return fmt.Sprintf("smtptest %s (%s)", s.Addr, mode)
}
