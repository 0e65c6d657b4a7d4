package stream

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
)

// Handler receives each artifact of a stream, one at a time, in the order
// the artifacts were opened. It reads the artifact (or not) and returns; the
// artifact's reader is invalid after the handler returns. A handler error
// stops Demux.
type Handler func(a *Artifact) error

// Options tune Demux. The zero value is usable.
type Options struct {
	// SpoolDir is where artifacts that wait for their turn are spooled
	// once MemoryLimit is reached; empty means os.TempDir().
	SpoolDir string
	// MemoryLimit bounds the bytes held in memory by all spools together;
	// 0 means 16 MiB.
	MemoryLimit int64
}

// Artifact is one artifact of a stream as a Handler sees it. Read returns
// its bytes, then io.EOF once its CLOSE frame arrived (matching or not: see
// Result), or an error wrapping io.ErrUnexpectedEOF if the stream ended
// first.
type Artifact struct {
	// ID is the artifact's number in the stream.
	ID uint32
	// Name is the artifact's path, checked with ValidName.
	Name string
	// Meta is the metadata of the OPEN frame.
	Meta Meta

	sp  *spool
	mu  sync.Mutex
	res ArtifactResult
	h   hash.Hash
	n   int64
}

// Read reads the artifact's bytes.
func (a *Artifact) Read(p []byte) (int, error) { return a.sp.read(p) }

// Result returns what is known of the artifact: final once Read returned an
// error (io.EOF included), or once Demux returned.
func (a *Artifact) Result() ArtifactResult {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.res
}

// ArtifactResult is the verdict on one artifact.
type ArtifactResult struct {
	// ID, Name and Meta are those of the OPEN frame.
	ID   uint32 `json:"id"`
	Name string `json:"name"`
	Meta Meta   `json:"meta,omitempty"`
	// Bytes and SHA256 (hex) are what the reader received.
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	// Closed is true once the artifact's CLOSE frame arrived.
	Closed bool `json:"closed"`
	// DeclaredBytes and DeclaredSHA256 are what CLOSE declared.
	DeclaredBytes  int64  `json:"declared_bytes"`
	DeclaredSHA256 string `json:"declared_sha256"`
	// CloseMeta is the metadata of the CLOSE frame, such as drop counts.
	CloseMeta Meta `json:"close_meta,omitempty"`
	// AgentError is the agent's reason the capture failed or was cut
	// short; the bytes received are whatever the agent managed to send.
	AgentError string `json:"agent_error,omitempty"`
	// Err is nil for an artifact that arrived whole with matching count and
	// hash, a *MismatchError when count or hash differ, and an error
	// wrapping io.ErrUnexpectedEOF when the stream ended before CLOSE.
	Err error `json:"-"`
}

// Verified reports whether the artifact arrived whole and matched its CLOSE.
func (r ArtifactResult) Verified() bool { return r.Closed && r.Err == nil }

// Summary is the verdict on a whole stream.
type Summary struct {
	// Version is the protocol version of the stream header.
	Version int
	// Artifacts are the artifacts in the order they were opened.
	Artifacts []ArtifactResult
	// Bytes and SHA256 are computed over every byte received before the
	// END frame (or before the stream broke off).
	Bytes  int64
	SHA256 string
	// Ended is true once the END frame arrived.
	Ended bool
	// DeclaredBytes and DeclaredSHA256 are what END declared.
	DeclaredBytes  int64
	DeclaredSHA256 string
	// AgentError is the session-level failure the agent reported in END.
	AgentError string
}

// AgentErrors lists every failure the agent itself reported, per artifact
// ("name: text") and for the session. They are not transport errors: the
// bytes that arrived are intact, but the capture may be partial.
func (s *Summary) AgentErrors() []string {
	var out []string
	for _, a := range s.Artifacts {
		if a.AgentError != "" {
			out = append(out, a.Name+": "+a.AgentError)
		}
	}
	if s.AgentError != "" {
		out = append(out, "session: "+s.AgentError)
	}
	return out
}

// MismatchError says that what arrived differs from what the agent declared
// having sent, for one artifact or (Artifact empty) for the whole stream.
type MismatchError struct {
	Artifact       string
	Bytes          int64
	SHA256         string
	DeclaredBytes  int64
	DeclaredSHA256 string
}

// Error says what arrived and what was declared.
func (e *MismatchError) Error() string {
	what := "stream"
	if e.Artifact != "" {
		what = "artifact " + e.Artifact
	}
	return fmt.Sprintf("%s: received %d bytes with sha256 %s, agent declared %d bytes with sha256 %s",
		what, e.Bytes, e.SHA256, e.DeclaredBytes, e.DeclaredSHA256)
}

// TruncatedError says the stream ended before its END frame.
type TruncatedError struct {
	// Offset is the number of bytes received.
	Offset int64
	// MidFrame is true when the stream broke off inside a frame.
	MidFrame bool
	// Incomplete names the artifacts opened but never closed.
	Incomplete []string
}

// Error says where the stream broke off and which artifacts it cut.
func (e *TruncatedError) Error() string {
	where := "between frames"
	if e.MidFrame {
		where = "in the middle of a frame"
	}
	msg := fmt.Sprintf("stream truncated after %d bytes %s, before its end frame", e.Offset, where)
	if len(e.Incomplete) > 0 {
		msg += "; incomplete artifacts: " + strings.Join(e.Incomplete, ", ")
	} else {
		msg += "; no artifact was open"
	}
	return msg
}

// Unwrap makes errors.Is(err, io.ErrUnexpectedEOF) true.
func (e *TruncatedError) Unwrap() error { return io.ErrUnexpectedEOF }

// ProtocolError says the bytes received are not a valid stream.
type ProtocolError struct {
	// Offset is where in the stream the problem was found.
	Offset int64
	// Reason says what is wrong.
	Reason string
}

// Error says where the stream went wrong and how.
func (e *ProtocolError) Error() string {
	return fmt.Sprintf("invalid agent stream at byte %d: %s", e.Offset, e.Reason)
}

// demux is the state of one Demux call.
type demux struct {
	r    io.Reader
	opts Options
	bud  *budget

	off int64
	h   hash.Hash

	all  []*Artifact
	open map[uint32]*Artifact
	used map[uint32]bool

	qmu     sync.Mutex
	qcond   sync.Cond
	queue   []*Artifact
	qclosed bool
	stopped bool // the handler failed: stop reading

	sum Summary
}

// Demux reads a stream from r until its END frame and calls h for each
// artifact, in the order they were opened (see the package documentation
// for why this never deadlocks). It returns the Summary, never nil, and an
// error joining every transport problem: a *ProtocolError, a
// *TruncatedError, *MismatchErrors, and the first handler error. Failures
// the agent reported are not errors here: see Summary.AgentErrors.
//
// Demux returns at END without reading further, and as soon as the handler
// fails; in the latter case a goroutine may still be blocked reading r
// until the caller closes it.
func Demux(r io.Reader, h Handler, opts *Options) (*Summary, error) {
	d := &demux{
		r:    r,
		h:    sha256.New(),
		open: make(map[uint32]*Artifact),
		used: make(map[uint32]bool),
	}
	if opts != nil {
		d.opts = *opts
	}
	if d.opts.MemoryLimit <= 0 {
		d.opts.MemoryLimit = 16 << 20
	}
	d.bud = &budget{limit: d.opts.MemoryLimit}
	d.qcond.L = &d.qmu

	handlerDone := make(chan error, 1)
	go func() { handlerDone <- d.handle(h) }()

	loopDone := make(chan error, 1)
	go func() {
		err := d.loop()
		d.qmu.Lock()
		d.qclosed = true
		d.qcond.Broadcast()
		d.qmu.Unlock()
		loopDone <- err
	}()

	var loopErr, handlerErr error
	select {
	case loopErr = <-loopDone:
		handlerErr = <-handlerDone
	case handlerErr = <-handlerDone:
		if handlerErr == nil {
			// Only possible once the queue is closed, so the loop is done.
			loopErr = <-loopDone
		} else {
			d.qmu.Lock()
			d.stopped = true
			d.qmu.Unlock()
			select {
			case loopErr = <-loopDone:
			default:
				// The loop may be blocked in r.Read: leave it behind.
				for _, a := range d.snapshotAll() {
					a.sp.release()
				}
				return d.summary(), handlerErr
			}
		}
	}

	var errs []error
	if loopErr != nil {
		errs = append(errs, loopErr)
	}
	for _, a := range d.all {
		a.sp.release()
		if res := a.Result(); res.Err != nil {
			var m *MismatchError
			if errors.As(res.Err, &m) {
				errs = append(errs, m)
			}
		}
	}
	if d.sum.Ended && (d.sum.Bytes != d.sum.DeclaredBytes || d.sum.SHA256 != d.sum.DeclaredSHA256) {
		errs = append(errs, &MismatchError{Bytes: d.sum.Bytes, SHA256: d.sum.SHA256,
			DeclaredBytes: d.sum.DeclaredBytes, DeclaredSHA256: d.sum.DeclaredSHA256})
	}
	if handlerErr != nil {
		errs = append(errs, handlerErr)
	}
	return d.summary(), errors.Join(errs...)
}

func (d *demux) snapshotAll() []*Artifact {
	d.qmu.Lock()
	defer d.qmu.Unlock()
	return append([]*Artifact(nil), d.all...)
}

func (d *demux) summary() *Summary {
	d.qmu.Lock()
	all := append([]*Artifact(nil), d.all...)
	s := d.sum
	d.qmu.Unlock()
	s.Artifacts = nil
	for _, a := range all {
		s.Artifacts = append(s.Artifacts, a.Result())
	}
	return &s
}

// handle runs the handler on each artifact in turn.
func (d *demux) handle(h Handler) error {
	for {
		d.qmu.Lock()
		for len(d.queue) == 0 && !d.qclosed {
			d.qcond.Wait()
		}
		if len(d.queue) == 0 {
			d.qmu.Unlock()
			return nil
		}
		a := d.queue[0]
		d.queue = d.queue[1:]
		d.qmu.Unlock()

		err := h(a)
		a.sp.release()
		if err != nil {
			return fmt.Errorf("handling artifact %s: %w", a.Name, err)
		}
	}
}

func (d *demux) protocolErr(format string, args ...any) error {
	return &ProtocolError{Offset: d.off, Reason: fmt.Sprintf(format, args...)}
}

// truncated closes every open artifact with an unexpected EOF and returns
// the *TruncatedError that names them.
func (d *demux) truncated(midFrame bool) error {
	te := &TruncatedError{Offset: d.off, MidFrame: midFrame}
	for _, a := range d.all {
		if _, ok := d.open[a.ID]; ok {
			te.Incomplete = append(te.Incomplete, a.Name)
		}
	}
	d.failOpen()
	d.qmu.Lock()
	d.sum.Bytes = d.off
	d.sum.SHA256 = hex.EncodeToString(d.h.Sum(nil))
	d.qmu.Unlock()
	return te
}

// failOpen ends every open artifact with an unexpected EOF.
func (d *demux) failOpen() {
	for _, a := range d.all {
		if _, ok := d.open[a.ID]; !ok {
			continue
		}
		err := fmt.Errorf("artifact %s: stream ended before the artifact was closed: %w", a.Name, io.ErrUnexpectedEOF)
		a.mu.Lock()
		a.res.Bytes = a.n
		a.res.SHA256 = hex.EncodeToString(a.h.Sum(nil))
		a.res.Err = err
		a.mu.Unlock()
		a.sp.finish(err)
		delete(d.open, a.ID)
	}
}

// readFull reads exactly len(b) bytes; a short read is reported as
// truncation (mid is whether a frame had begun).
func (d *demux) readFull(b []byte, midFrame bool) error {
	n, err := io.ReadFull(d.r, b)
	d.off += int64(n)
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// Bytes of a frame that broke off still count as received.
		d.h.Write(b[:n])
		return d.truncated(midFrame || n > 0)
	}
	d.h.Write(b[:n])
	te := d.truncated(true)
	return fmt.Errorf("reading agent stream: %w (%v)", err, te)
}

func (d *demux) loop() error {
	var hdr [headerSize]byte
	if err := d.readFull(hdr[:], true); err != nil {
		return err
	}
	if !bytes.Equal(hdr[:8], signature[:]) {
		reason := fmt.Sprintf("bad signature % x", hdr[:8])
		if hdr[0] == 0x89 || bytes.Contains(hdr[:], []byte("FAG")) {
			reason += ": line endings or high bytes were altered (was the agent attached with a TTY?)"
		}
		return &ProtocolError{Offset: 0, Reason: reason}
	}
	v := binary.BigEndian.Uint16(hdr[8:10])
	d.sum.Version = int(v)
	if v != Version {
		return &ProtocolError{Offset: 8, Reason: fmt.Sprintf("protocol version %d, this reader knows %d", v, Version)}
	}
	d.h.Write(hdr[:])

	var fh [frameHeaderSize]byte
	for {
		d.qmu.Lock()
		stopped := d.stopped
		d.qmu.Unlock()
		if stopped {
			return nil
		}
		start := d.off
		if err := d.readFull(fh[:], false); err != nil {
			return err
		}
		typ, id, n := fh[0], binary.BigEndian.Uint32(fh[1:5]), binary.BigEndian.Uint32(fh[5:9])
		limit := uint32(MaxControlSize)
		if typ == frameData {
			limit = MaxDataSize
		}
		if n > limit {
			d.off = start
			return d.protocolErr("frame type %d of %d bytes, more than %d", typ, n, limit)
		}
		payload := make([]byte, n)
		if typ != frameEnd {
			d.h.Write(fh[:])
		}
		if err := d.readFull(payload, true); err != nil {
			return err
		}
		if typ != frameEnd {
			d.h.Write(payload)
		}
		switch typ {
		case frameOpen:
			if err := d.onOpen(id, payload); err != nil {
				return err
			}
		case frameData:
			a, ok := d.open[id]
			if !ok {
				return d.protocolErr("data for artifact %d, which is not open", id)
			}
			a.h.Write(payload)
			a.n += int64(len(payload))
			a.sp.write(payload)
		case frameClose:
			if err := d.onClose(id, payload); err != nil {
				return err
			}
		case frameEnd:
			return d.onEnd(id, start, payload)
		default:
			if typ < frameFirstExtension {
				return d.protocolErr("unknown frame type %d", typ)
			}
		}
	}
}

func (d *demux) onOpen(id uint32, p []byte) error {
	if id == 0 || d.used[id] {
		return d.protocolErr("open of artifact id %d, which is zero or already used", id)
	}
	if len(p) < 2 {
		return d.protocolErr("open frame of %d bytes", len(p))
	}
	nl := int(binary.BigEndian.Uint16(p))
	if 2+nl > len(p) {
		return d.protocolErr("open frame name of %d bytes overruns the frame", nl)
	}
	name := string(p[2 : 2+nl])
	if err := ValidName(name); err != nil {
		return d.protocolErr("%v", err)
	}
	for _, o := range d.open {
		if o.Name == name {
			return d.protocolErr("artifact %s opened twice", name)
		}
	}
	var meta Meta
	if rest := p[2+nl:]; len(rest) > 0 {
		if err := decodeJSON(rest, &meta); err != nil {
			return d.protocolErr("metadata of artifact %s: %v", name, err)
		}
	}
	a := &Artifact{ID: id, Name: name, Meta: meta, sp: newSpool(d.bud, d.opts.SpoolDir), h: sha256.New()}
	a.res = ArtifactResult{ID: id, Name: name, Meta: meta}
	d.used[id] = true
	d.open[id] = a
	d.qmu.Lock()
	d.all = append(d.all, a)
	d.queue = append(d.queue, a)
	d.qcond.Broadcast()
	d.qmu.Unlock()
	return nil
}

func (d *demux) onClose(id uint32, p []byte) error {
	a, ok := d.open[id]
	if !ok {
		return d.protocolErr("close of artifact %d, which is not open", id)
	}
	if len(p) < 8+digestSize {
		return d.protocolErr("close frame of %d bytes", len(p))
	}
	var info closeInfo
	if rest := p[8+digestSize:]; len(rest) > 0 {
		if err := decodeJSON(rest, &info); err != nil {
			return d.protocolErr("close information of artifact %s: %v", a.Name, err)
		}
	}
	delete(d.open, id)
	a.mu.Lock()
	r := &a.res
	r.Closed = true
	r.Bytes = a.n
	r.SHA256 = hex.EncodeToString(a.h.Sum(nil))
	r.DeclaredBytes = int64(binary.BigEndian.Uint64(p))
	r.DeclaredSHA256 = hex.EncodeToString(p[8 : 8+digestSize])
	r.CloseMeta = info.Meta
	r.AgentError = info.Error
	if r.Bytes != r.DeclaredBytes || r.SHA256 != r.DeclaredSHA256 {
		r.Err = &MismatchError{Artifact: a.Name, Bytes: r.Bytes, SHA256: r.SHA256,
			DeclaredBytes: r.DeclaredBytes, DeclaredSHA256: r.DeclaredSHA256}
	}
	a.mu.Unlock()
	a.sp.finish(io.EOF)
	return nil
}

func (d *demux) onEnd(id uint32, start int64, p []byte) error {
	if id != 0 {
		return d.protocolErr("end frame with id %d", id)
	}
	if len(p) < 8+digestSize {
		return d.protocolErr("end frame of %d bytes", len(p))
	}
	var info endInfo
	if rest := p[8+digestSize:]; len(rest) > 0 {
		if err := decodeJSON(rest, &info); err != nil {
			return d.protocolErr("end information: %v", err)
		}
	}
	d.qmu.Lock()
	d.sum.Ended = true
	d.sum.Bytes = start
	d.sum.SHA256 = hex.EncodeToString(d.h.Sum(nil))
	d.sum.DeclaredBytes = int64(binary.BigEndian.Uint64(p))
	d.sum.DeclaredSHA256 = hex.EncodeToString(p[8 : 8+digestSize])
	d.sum.AgentError = info.Error
	d.qmu.Unlock()
	if len(d.open) > 0 {
		te := &TruncatedError{Offset: start}
		for _, a := range d.all {
			if _, ok := d.open[a.ID]; ok {
				te.Incomplete = append(te.Incomplete, a.Name)
			}
		}
		d.failOpen()
		return d.protocolErr("end frame while artifacts are open: %s", strings.Join(te.Incomplete, ", "))
	}
	return nil
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON")
	}
	return nil
}
