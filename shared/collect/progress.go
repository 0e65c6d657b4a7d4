package collect

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Progress shows, on a terminal, the artifact being written, its bytes so
// far and its rate, and a line for each artifact when it is done. Create it
// only when the output is a terminal: it writes control characters.
type Progress struct {
	w      io.Writer
	prefix string
	mu     sync.Mutex
	name   string
	start  time.Time
	n      atomic.Int64
	stop   chan struct{}
	now    func() time.Time
}

// NewProgress returns a Progress writing to w (normally standard error).
// prefix, e.g. the target's name, starts every line.
func NewProgress(w io.Writer, prefix string) *Progress {
	return &Progress{w: w, prefix: prefix, now: time.Now}
}

// Start shows a new artifact and returns the function that ends it.
func (p *Progress) Start(name string) (done func()) {
	p.mu.Lock()
	p.name, p.start = name, p.now()
	p.n.Store(0)
	p.stop = make(chan struct{})
	stop := p.stop
	p.mu.Unlock()
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.render("\r\033[K", "")
			}
		}
	}()
	return func() {
		close(stop)
		p.render("\r\033[K", "\n")
	}
}

// Failed shows an artifact that could not be collected.
func (p *Progress) Failed(name string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K%s%-40s FAILED: %v\n", p.prefix, name, err)
}

func (p *Progress) add(n int) { p.n.Add(int64(n)) }

func (p *Progress) render(lead, tail string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.n.Load()
	secs := p.now().Sub(p.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(n) / secs
	}
	fmt.Fprintf(p.w, "%s%s%-40s %10s %10s/s%s", lead, p.prefix, p.name, HumanBytes(n), HumanBytes(int64(rate)), tail)
}

type progressReader struct {
	r io.Reader
	p *Progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.add(n)
	return n, err
}

// HumanBytes formats a byte count with binary units, e.g. "12.5 MiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
