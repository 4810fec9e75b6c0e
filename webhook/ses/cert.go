package ses

import (
	"container/list"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/longtailhq/longtail/webhook"
)

// maxCertBytes bounds a certificate file or response; AWS's are about 2 KiB.
const maxCertBytes = 64 << 10

// certificate returns the signing certificate for rawURL, checked as the
// configured source requires. The host rule applies in both modes, so a
// message naming a foreign URL is refused the same way whether or not a file
// of that name happens to be pinned.
func (p *Provider) certificate(ctx context.Context, rawURL string, now time.Time) (*x509.Certificate, error) {
	u, err := snsURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: ses: SigningCertURL: %v", webhook.ErrUnauthorized, err)
	}
	if !strings.HasSuffix(u.Path, ".pem") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: ses: SigningCertURL %q is not a .pem file", webhook.ErrUnauthorized, rawURL)
	}
	if p.certDir != "" {
		return p.pinned(u.Path)
	}
	key := u.String()
	return p.fetches.do(ctx, key,
		func() (*x509.Certificate, bool, error) { return p.remembered(key, now) },
		func(ctx context.Context) (*x509.Certificate, error) {
			cert, err := p.fetch(ctx, u, now)
			if err != nil {
				p.failures.add(key, err, now)
				return nil, err
			}
			p.cache.add(key, cert)
			return cert, nil
		})
}

// remembered answers from the caches: a certificate fetched before and
// still valid at now, or a failure not yet expired. ok is false when
// neither knows the URL.
func (p *Provider) remembered(key string, now time.Time) (cert *x509.Certificate, ok bool, err error) {
	if cert, ok := p.cache.get(key); ok {
		if err := checkDates(cert, now); err != nil {
			p.cache.remove(key)
			return nil, true, fmt.Errorf("%w: ses: signing certificate %s: %v", webhook.ErrUnauthorized, key, err)
		}
		return cert, true, nil
	}
	if err := p.failures.get(key, now); err != nil {
		return nil, true, err
	}
	return nil, false, nil
}

// pinned reads the operator's copy of a certificate. It is read on every
// use, not cached, so that removing a file revokes it at once.
func (p *Provider) pinned(urlPath string) (*x509.Certificate, error) {
	name := path.Base(urlPath)
	if name == "." || name == "/" || name == ".." || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("%w: ses: SigningCertURL path %q names no certificate file", webhook.ErrUnauthorized, urlPath)
	}
	// OpenInRoot keeps the lookup inside CertDir whatever the name holds.
	f, err := os.OpenInRoot(p.certDir, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: ses: signing certificate %s is not pinned in Config.CertDir", webhook.ErrUnauthorized, name)
	}
	if err != nil {
		return nil, fmt.Errorf("ses: reading pinned certificate %s: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCertBytes))
	if err != nil {
		return nil, fmt.Errorf("ses: reading pinned certificate %s: %w", name, err)
	}
	certs, err := parsePEM(data)
	if err != nil {
		// The operator's file is broken: our fault, not the sender's.
		return nil, fmt.Errorf("ses: pinned certificate %s: %w", name, err)
	}
	return certs[0], nil
}

// fetch downloads a certificate and verifies its chain at now. Every
// failure is ErrUnauthorized: the URL came from an unauthenticated message,
// and a certificate that cannot be had proves nothing (answering 5xx would
// also page whoever watches server errors for anyone who names a bad URL).
func (p *Provider) fetch(ctx context.Context, u *url.URL, now time.Time) (*x509.Certificate, error) {
	rawURL := u.String()
	resp, err := p.get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("%w: ses: signing certificate %s could not be fetched: %v", webhook.ErrUnauthorized, rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: ses: signing certificate %s could not be fetched: %s", webhook.ErrUnauthorized, rawURL, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: ses: signing certificate %s could not be fetched: %v", webhook.ErrUnauthorized, rawURL, err)
	}
	certs, err := parsePEM(data)
	if err != nil {
		return nil, fmt.Errorf("%w: ses: signing certificate %s: %v", webhook.ErrUnauthorized, rawURL, err)
	}
	// AWS serves the leaf alone. The intermediates come from the file when
	// present and from the TLS chain of the AWS host that served it, which
	// in practice is issued by the same CA; they only help build a path to
	// Roots and are never trusted themselves.
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if resp.TLS != nil {
		for _, c := range resp.TLS.PeerCertificates {
			inter.AddCert(c)
		}
	}
	_, err = certs[0].Verify(x509.VerifyOptions{
		Roots:         p.roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: ses: signing certificate %s: %v", webhook.ErrUnauthorized, rawURL, err)
	}
	return certs[0], nil
}

func parsePEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return certs, nil
}

func checkDates(c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return fmt.Errorf("not valid at %s (valid %s to %s)", now.UTC().Format(time.RFC3339),
			c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// certCache is a small LRU of verified certificates by URL.
type certCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cacheEntry, most recent first
	byURL map[string]*list.Element
}

type cacheEntry struct {
	url  string
	cert *x509.Certificate
}

func newCertCache(max int) *certCache {
	return &certCache{max: max, order: list.New(), byURL: map[string]*list.Element{}}
}

func (c *certCache) get(url string) (*x509.Certificate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byURL[url]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).cert, true
}

func (c *certCache) add(url string, cert *x509.Certificate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byURL[url]; ok {
		el.Value.(*cacheEntry).cert = cert
		c.order.MoveToFront(el)
		return
	}
	c.byURL[url] = c.order.PushFront(&cacheEntry{url: url, cert: cert})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byURL, last.Value.(*cacheEntry).url)
	}
}

func (c *certCache) remove(url string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byURL[url]; ok {
		c.order.Remove(el)
		delete(c.byURL, url)
	}
}

// failureCache remembers certificate URLs that could not be fetched or
// trusted, each for ttl from the failure, at most max of them (the least
// recently failed is forgotten first).
type failureCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	order *list.List // of *failure, most recent first
	byURL map[string]*list.Element
}

type failure struct {
	url string
	err error
	at  time.Time
}

func newFailureCache(max int, ttl time.Duration) *failureCache {
	return &failureCache{max: max, ttl: ttl, order: list.New(), byURL: map[string]*list.Element{}}
}

// get returns the remembered failure of url at now, or nil.
func (c *failureCache) get(url string, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byURL[url]
	if !ok {
		return nil
	}
	f := el.Value.(*failure)
	if age := now.Sub(f.at); age >= c.ttl || age < 0 {
		c.order.Remove(el)
		delete(c.byURL, url)
		return nil
	}
	return fmt.Errorf("%w (at %s; not tried again before %s)", f.err,
		f.at.UTC().Format(time.RFC3339), f.at.Add(c.ttl).UTC().Format(time.RFC3339))
}

func (c *failureCache) add(url string, err error, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byURL[url]; ok {
		c.order.Remove(el)
	}
	c.byURL[url] = c.order.PushFront(&failure{url: url, err: err, at: now})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byURL, last.Value.(*failure).url)
	}
}

// fetchGroup runs certificate fetches: one at a time per URL, the callers
// asking for a URL already being fetched waiting for that fetch, and at most
// cap(slots) URLs at once.
type fetchGroup struct {
	mu       sync.Mutex
	slots    chan struct{}
	inflight map[string]*flight
}

type flight struct {
	done chan struct{}
	cert *x509.Certificate
	err  error
}

func newFetchGroup(max int) *fetchGroup {
	return &fetchGroup{slots: make(chan struct{}, max), inflight: map[string]*flight{}}
}

// do answers from remembered when it knows key, else waits for the fetch
// of key in flight, else runs fetch. remembered runs under the group's
// lock and a fetch stores its result before it leaves the group, so a
// caller either joins a fetch or sees its result: a URL is never fetched
// twice at once or once too often. With every slot taken it refuses at
// once rather than queueing: a caller naming fresh URLs must not make the
// real ones wait behind it.
func (g *fetchGroup) do(ctx context.Context, key string, remembered func() (*x509.Certificate, bool, error),
	fetch func(context.Context) (*x509.Certificate, error)) (*x509.Certificate, error) {
	g.mu.Lock()
	if cert, ok, err := remembered(); ok {
		g.mu.Unlock()
		return cert, err
	}
	if f, ok := g.inflight[key]; ok {
		g.mu.Unlock()
		select {
		case <-f.done:
			return f.cert, f.err
		case <-ctx.Done():
			return nil, fmt.Errorf("ses: waiting for signing certificate %s: %w", key, ctx.Err())
		}
	}
	select {
	case g.slots <- struct{}{}:
	default:
		g.mu.Unlock()
		return nil, fmt.Errorf("%w: ses: signing certificate %s not fetched: %d certificate fetches already in flight",
			webhook.ErrUnauthorized, key, cap(g.slots))
	}
	f := &flight{done: make(chan struct{})}
	g.inflight[key] = f
	g.mu.Unlock()

	// Not cancelled with the first caller's request: the others waiting
	// for it would fail with it. The client's timeout bounds it.
	f.cert, f.err = fetch(context.WithoutCancel(ctx))

	g.mu.Lock()
	delete(g.inflight, key)
	g.mu.Unlock()
	<-g.slots
	close(f.done)
	return f.cert, f.err
}
