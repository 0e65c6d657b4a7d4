//go:build e2e

package analyze_e2e

import (
	"bufio"
	"context"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// proxy records every request Chromium makes, so that the test can tell
// that the page itself fetched nothing.
type proxy struct {
	mu   sync.Mutex
	seen []string
	ln   net.Listener
}

func newProxy(t *testing.T) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				p.mu.Lock()
				p.seen = append(p.seen, req.Method+" "+req.Host+req.URL.Path)
				p.mu.Unlock()
				c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

// browserHosts are the services Chromium itself calls (clock, component
// updates, accounts) even with background networking disabled; anything
// else would come from the page.
var browserHosts = regexp.MustCompile(`^(CONNECT|GET|POST) [a-z0-9.-]*(google\.com|googleapis\.com|gstatic\.com|gvt1\.com)(:443)?`)

func chromium(t *testing.T, proxyAddr string, args ...string) string {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir(), "--proxy-server=http://" + proxyAddr}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "chromium", append(base, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return string(out)
}

func TestHTMLReportInChromium(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	r, res := analyzeJSON(t, saved, "--html", page)
	if res.code != 0 {
		t.Fatalf("exit %d", res.code)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	// Self-contained: no scripts, no links, no URLs to load.
	for _, bad := range []string{"<script", "<link", "src=", "url(", "@import"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	if !strings.Contains(string(html), `Content-Security-Policy" content="default-src 'none'`) {
		t.Error("the page has no Content-Security-Policy forbidding fetches")
	}

	px := newProxy(t)
	dom := chromium(t, px.ln.Addr().String(), "--dump-dom", "file://"+page)
	if !strings.Contains(dom, `id="timeline"`) {
		t.Fatalf("the rendered page has no timeline:\n%.2000s", dom)
	}
	if got := strings.Count(dom, `class="stage"`); got != len(r.Timeline) {
		t.Errorf("the timeline draws %d stages, the report has %d", got, len(r.Timeline))
	}
	for _, want := range []string{"drop a program in /tmp", "plant a setuid helper and keys", "/usr/local/bin/helper", "exec-in-tmp"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	// The layer that planted the keys carries a red badge with its worst
	// severity.
	if !regexp.MustCompile(`>\d+ critical</text>`).MatchString(dom) {
		t.Error("the timeline has no critical badge")
	}
	if strings.Contains(dom, plantedSecret) {
		t.Error("the page shows the planted secret")
	}

	shot := filepath.Join(dir, "report.png")
	chromium(t, px.ln.Addr().String(), "--window-size=1200,1400", "--screenshot="+shot, "file://"+page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	colors := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	if b.Dx() != 1200 || len(colors) < 20 {
		t.Errorf("screenshot is %dx%d with %d colours: not a rendered report", b.Dx(), b.Dy(), len(colors))
	}
	if os.Getenv("FORENSIC_KEEP_SCREENSHOT") != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("FORENSIC_KEEP_SCREENSHOT"), data, 0o644)
	}

	px.mu.Lock()
	defer px.mu.Unlock()
	for _, req := range px.seen {
		if !browserHosts.MatchString(req) {
			t.Errorf("the page made a network request: %s", req)
		}
	}
}
