package httpapi_test

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/longtailhq/longtail/httpapi"
)

// chromiumPath finds Debian's chromium: skipped on a developer machine
// without it, a failure in CI (scripts/test.sh installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: CI must run the browser tests (apt-get install chromium)")
	}
	t.Skip("chromium is not installed; apt-get install chromium to run the browser test")
	return ""
}

// recordCSP collects every Content-Security-Policy violation of the page.
const recordCSP = `window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.effectiveDirective + ' ' + e.blockedURI));`

// TestOpsConsoleInChromium proves the console still works under its CSP,
// nosniff and read-only mode: asynqmon renders the queues and no policy
// violation is reported (the inline scripts are allowed by their hashes).
func TestOpsConsoleInChromium(t *testing.T) {
	t.Parallel()
	exe := chromiumPath(t)
	f := opsEdge(t, false, httpapi.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	b, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	defer cancelB()

	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:"+adminKey))
	if _, err := chromedp.Call(b, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": auth}}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordCSP}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b, chromedp.Navigate(f.srv.URL+"/ops/queues/")); err != nil {
		t.Fatal(err)
	}
	// The dashboard lists the queue it read through the API.
	if _, err := chromedp.Run(b, chromedp.Poll[bool](`document.body.innerText.includes('ingest')`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the console did not render the ingest queue: %v", err)
	}
	violations, err := chromedp.Run(b, chromedp.Evaluate[[]string](`window.__csp`))
	if err != nil {
		t.Fatal(err)
	}
	// Google's fonts are allowed but unreachable here: a network error, not
	// a violation. Anything else the policy blocked is a defect.
	if len(violations) != 0 {
		t.Fatalf("CSP violations: %q", violations)
	}
}
