//go:build linux

package nodesnap

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/stream"
	"github.com/forensic-tools/forensic/shared/version"
	"golang.org/x/sys/unix"
)

// Config is one node session.
type Config struct {
	Request Request
	// HostRoot is where the host's / is; empty means "/".
	HostRoot string
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)

	// logHook, set by tests, runs after each log file is opened ("open"),
	// after each chunk read from one ("read") and at its end ("eof").
	logHook func(event, name string)
}

// Result is what a session sent.
type Result struct {
	// Bytes and SHA256 are those the END frame declared.
	Bytes  int64
	SHA256 string
	// Failed names the artifacts that failed; the report says why.
	Failed []string
}

// Run collects the request's evidence and writes the stream to out:
// agent/info.json first, node/report.json last. A piece that fails is
// recorded in the report and its artifact closed with the error; the
// session goes on with the rest. Canceling ctx stops it between pieces
// (and inside long copies); the report is still written.
func Run(ctx context.Context, out io.Writer, cfg Config) (Result, error) {
	if cfg.HostRoot == "" {
		cfg.HostRoot = "/"
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if err := cfg.Request.Validate(); err != nil {
		return Result{}, fmt.Errorf("invalid request: %w", err)
	}
	if fi, err := os.Stat(cfg.HostRoot); err != nil || !fi.IsDir() {
		return Result{}, fmt.Errorf("host root %s is not a directory (mount the host's / there, or pass --host-root /)", cfg.HostRoot)
	}
	w, err := stream.NewWriter(out)
	if err != nil {
		return Result{}, err
	}
	s := &snap{cfg: cfg, w: w, rep: newReport(cfg)}
	s.info()
	s.collect(ctx)
	s.rep.Finished = time.Now().UTC()
	if ctx.Err() != nil {
		s.rep.Stopped = true
		s.rep.Errors = append(s.rep.Errors, "stopped before the end: "+ctx.Err().Error())
	}
	s.writeJSON(ArtifactReport, s.rep)

	var cause error
	if len(s.failed) > 0 {
		cause = fmt.Errorf("failed: %s (see %s)", joinNames(s.failed), ArtifactReport)
	}
	if err := w.CloseWithError(cause); err != nil {
		return Result{Failed: s.failed}, err
	}
	n, sum := w.Sum()
	res := Result{Bytes: n, SHA256: hex.EncodeToString(sum), Failed: s.failed}
	cfg.Logf("end of stream: %d bytes, sha256 %s", res.Bytes, res.SHA256)
	return res, cause
}

func joinNames(names []string) string {
	if len(names) > 8 {
		return fmt.Sprintf("%s and %d more", joinNames(names[:8]), len(names)-8)
	}
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
	}
	return b.String()
}

// snap is one running session.
type snap struct {
	cfg Config
	w   *stream.Writer
	rep *Report

	mu     sync.Mutex
	failed []string
}

// host returns a host path under the host root.
func (s *snap) host(p string) string { return filepath.Join(s.cfg.HostRoot, p) }

func (s *snap) fail(name string, err error) {
	s.mu.Lock()
	s.failed = append(s.failed, name)
	s.mu.Unlock()
	s.cfg.Logf("%s: %v", name, err)
}

// open opens an artifact; an error means the stream is dead.
func (s *snap) open(name string, meta stream.Meta) (*stream.ArtifactWriter, error) {
	a, err := s.w.Open(name, meta)
	if err != nil {
		s.fail(name, err)
		return nil, err
	}
	return a, nil
}

// finish closes an artifact, noting a failure.
func (s *snap) finish(a *stream.ArtifactWriter, meta stream.Meta, cause error) {
	if cause != nil {
		s.fail(a.Name(), cause)
	}
	if err := a.Finish(meta, cause); err != nil {
		s.cfg.Logf("%s: %v", a.Name(), err)
	}
}

// dead reports whether nothing more can be sent.
func (s *snap) dead() bool { return s.w.Err() != nil }

// writeJSON sends v as a whole artifact.
func (s *snap) writeJSON(name string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		err = fmt.Errorf("encoding %s: %w", name, err)
		s.fail(name, err)
		return err
	}
	return s.writeBytes(name, buf.Bytes())
}

// writeBytes sends b as a whole JSON artifact.
func (s *snap) writeBytes(name string, b []byte) error {
	a, err := s.open(name, stream.Meta{"content_type": "application/json"})
	if err != nil {
		return err
	}
	_, err = a.Write(b)
	s.finish(a, nil, err)
	return err
}

// copyFile streams the file at hostPath (under the host root) as an
// artifact, byte for byte.
func (s *snap) copyFile(ctx context.Context, name, hostPath string, meta stream.Meta) (int64, error) {
	f, err := os.Open(s.host(hostPath))
	if err != nil {
		err = fmt.Errorf("opening %s: %w", hostPath, err)
		s.fail(name, err)
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		err = fmt.Errorf("reading %s: %w", hostPath, err)
		s.fail(name, err)
		return 0, err
	}
	if meta == nil {
		meta = stream.Meta{}
	}
	meta["host_path"] = hostPath
	meta["size"] = fi.Size()
	meta["mtime"] = fi.ModTime().UTC()
	if st, ok := fi.Sys().(*unix.Stat_t); ok {
		meta["inode"] = st.Ino
	}
	a, err := s.open(name, meta)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(a, ctxReader{ctx, f})
	if err != nil {
		err = fmt.Errorf("copying %s: %w", hostPath, err)
	}
	s.finish(a, stream.Meta{"bytes": n}, err)
	return n, err
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// info sends agent/info.json.
func (s *snap) info() {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	host, _ := os.Hostname()
	req := s.cfg.Request
	doc := map[string]any{
		"agent":            "forensic-agent",
		"mode":             "node",
		"version":          version.Version,
		"commit":           version.Commit,
		"build_date":       version.Date,
		"protocol_version": stream.Version,
		"request":          req,
		"host_root":        s.cfg.HostRoot,
		"started":          s.rep.Started,
		"kernel":           unix.ByteSliceToString(uts.Release[:]),
		"machine":          unix.ByteSliceToString(uts.Machine[:]),
		"hostname":         host,
		"agent_pid":        os.Getpid(),
	}
	s.writeJSON(agent.ArtifactInfo, doc)
}

// collect runs every piece in turn.
func (s *snap) collect(ctx context.Context) {
	req := s.cfg.Request
	s.findKubelet()
	var c *criClient
	if s.rep.CRIEndpoint != "" {
		var err error
		if c, err = dialCRI(s.cfg.HostRoot, s.rep.CRIEndpoint); err != nil {
			s.rep.Errors = append(s.rep.Errors, err.Error())
		} else {
			defer c.Close()
		}
	}
	for i, ct := range req.Containers {
		if ctx.Err() != nil || s.dead() {
			return
		}
		cr := &s.rep.Containers[i]
		s.cfg.Logf("container %s: %s", ct.Name, ct.ContainerID)
		s.logs(ctx, ct, cr)
		s.criContainer(ctx, c, ct, cr)
		s.layer(ctx, ct, cr)
	}
	if ctx.Err() == nil && !s.dead() {
		s.criSandbox(ctx, c)
	}
	if ctx.Err() == nil && !s.dead() {
		s.journal(ctx)
	}
	for _, cp := range req.Checkpoints {
		if ctx.Err() != nil || s.dead() {
			return
		}
		s.checkpoint(ctx, cp)
	}
	for _, l := range req.CRIULogs {
		if ctx.Err() != nil || s.dead() {
			return
		}
		s.criuLog(ctx, l)
	}
}

// errText is err's text, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var errNotFound = errors.New("not found")
