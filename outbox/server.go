package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"
)

// ServerConfig configures the embedded SMTP server.
type ServerConfig struct {
	// Store keeps what the server captures. Required.
	Store *Store
	// Addr is where to listen; it must be a loopback address, since the
	// server takes mail from anyone who reaches it. If empty,
	// "127.0.0.1:0" (a free port).
	Addr string
	// MaxMessageBytes bounds one message. If zero, 10 MiB.
	MaxMessageBytes int64
	// Clock stamps ReceivedAt. If nil, time.Now.
	Clock func() time.Time
	// Log receives one line per captured message (no addresses above
	// debug) and the server's own errors.
	Log zerolog.Logger
}

// saveTimeout bounds the Redis write of one captured message; past it the
// client gets a 451 and retries, as it would with any relay.
const saveTimeout = 10 * time.Second

// Server is the running embedded SMTP server.
type Server struct {
	srv *smtp.Server
	ln  net.Listener
	url string
}

// Start validates cfg and starts the server; Close stops it.
func Start(cfg ServerConfig) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("outbox: nil store")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.MaxMessageBytes < 0 {
		return nil, fmt.Errorf("outbox: MaxMessageBytes %d is negative", cfg.MaxMessageBytes)
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = 10 << 20
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("outbox: address %q: %v", cfg.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("outbox: address %q is not loopback: the embedded server accepts mail without authentication", cfg.Addr)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("outbox: listen: %w", err)
	}
	log := cfg.Log.With().Str("component", "outbox").Logger()
	srv := smtp.NewServer(backend{cfg: cfg, log: log})
	srv.Domain = "longtail.localhost"
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = 100
	srv.ErrorLog = logAdapter{log}
	go func() { _ = srv.Serve(ln) }()
	return &Server{srv: srv, ln: ln, url: "smtp://" + ln.Addr().String() + "?tls=none"}, nil
}

// URL is the smtp.url the mailer uses to reach the server: clear text on
// loopback, no credentials.
func (s *Server) URL() string { return s.url }

// Close stops listening and ends open sessions.
func (s *Server) Close() error {
	_ = s.ln.Close()
	return s.srv.Close()
}

type backend struct {
	cfg ServerConfig
	log zerolog.Logger
}

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct {
	b    backend
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := Parse(raw)
	if err != nil {
		s.b.log.Warn().Err(err).Msg("refused a message that cannot be parsed")
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "message headers cannot be parsed"}
	}
	m.ReceivedAt = s.b.cfg.Clock()
	m.EnvelopeFrom, m.EnvelopeTo = s.from, append([]string(nil), s.to...)
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	id, err := s.b.cfg.Store.Save(ctx, m)
	if err != nil {
		s.b.log.Error().Err(err).Msg("could not keep a captured message; the sender will retry")
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "outbox unavailable, try again later"}
	}
	s.b.log.Info().Str("outbox_id", id).Str("flow", m.Flow).Str("step", m.Step).Str("message_id", m.MessageID).Msg("message captured")
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// logAdapter sends go-smtp's own log lines to zerolog.
type logAdapter struct{ log zerolog.Logger }

func (l logAdapter) Printf(format string, v ...any) { l.log.Warn().Msgf(format, v...) }
func (l logAdapter) Println(v ...any)               { l.log.Warn().Msg(fmt.Sprint(v...)) }
