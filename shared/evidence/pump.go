package evidence

import (
	"crypto/sha256"
	"hash"
	"io"
	"sync"
)

// The pump moves a source into an archive backend with three goroutines
// overlapping: one reads the source ahead, one hashes, and the caller's
// goroutine compresses and writes. A source like `docker export` only
// produces while it is read, so reading must never wait for hashing or
// compression; and SHA-256 and compression each take a core's share.
// Memory stays bounded by pumpChunks buffers of pumpChunkSize.
const (
	pumpChunkSize = 1 << 20
	pumpChunks    = 8
)

// chunkPool keeps read-ahead buffers between artifacts, so that many small
// streams (logs of many containers) do not each allocate pumpChunks MiB.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, pumpChunkSize); return &b }}

// pump is an io.Reader over a source, hashing what it hands out.
type pump struct {
	chunks chan []byte // read ahead, not yet handed out
	free   chan []byte // buffers to read into, once used
	made   int         // buffers taken from chunkPool (reader goroutine only)
	hashCh chan []byte // handed out, to be hashed
	hashed chan []byte // hashed, back to free after handout
	h      hash.Hash
	n      int64
	err    error // the source's error, other than io.EOF
	cur    []byte
	buf    []byte // the buffer cur lies in
	done   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
}

func newPump(src io.Reader) *pump {
	p := &pump{
		chunks: make(chan []byte, pumpChunks),
		free:   make(chan []byte, pumpChunks+2),
		hashCh: make(chan []byte, pumpChunks),
		h:      sha256.New(),
		done:   make(chan struct{}),
	}
	p.wg.Add(1)
	go p.read(src)
	go p.hash()
	return p
}

// read runs until the source ends or finish is called. finish does not
// wait for it: a source may block until its caller closes it.
func (p *pump) read(src io.Reader) {
	defer close(p.chunks)
	for {
		buf := p.buffer()
		if buf == nil {
			return
		}
		n, err := io.ReadFull(src, buf)
		if n > 0 {
			select {
			case p.chunks <- buf[:n]:
			case <-p.done:
				return
			}
		}
		if err != nil {
			if err != io.EOF && err != io.ErrUnexpectedEOF {
				p.mu.Lock()
				p.err = err
				p.mu.Unlock()
			}
			return
		}
	}
}

// buffer returns a buffer to read into: a used one, a new one from the
// pool while fewer than pumpChunks+2 are out, or else waits for one; nil
// once finish was called.
func (p *pump) buffer() []byte {
	select {
	case b := <-p.free:
		return b
	default:
	}
	if p.made < pumpChunks+2 {
		p.made++
		return *chunkPool.Get().(*[]byte)
	}
	select {
	case b := <-p.free:
		return b
	case <-p.done:
		return nil
	}
}

func (p *pump) hash() {
	defer p.wg.Done()
	for b := range p.hashCh {
		p.h.Write(b)
		p.free <- b[:cap(b)]
	}
}

// Read hands out read-ahead bytes. A source failure ends the stream with
// io.EOF and is kept in p.err (see hashingReader for why).
func (p *pump) Read(b []byte) (int, error) {
	if len(p.cur) == 0 {
		if p.buf != nil {
			p.hashCh <- p.buf
			p.buf = nil
		}
		chunk, ok := <-p.chunks
		if !ok {
			return 0, io.EOF
		}
		p.cur, p.buf = chunk, chunk
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	p.n += int64(n)
	return n, nil
}

// WriteTo hands out whole chunks without copying them.
func (p *pump) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(p.cur) > 0 {
			n, err := w.Write(p.cur)
			total += int64(n)
			p.n += int64(n)
			p.cur = p.cur[n:]
			if err != nil {
				return total, err
			}
		}
		if p.buf != nil {
			p.hashCh <- p.buf
			p.buf = nil
		}
		chunk, ok := <-p.chunks
		if !ok {
			return total, nil
		}
		p.cur, p.buf = chunk, chunk
	}
}

// finish stops the goroutines and returns the count, the digest and the
// source's error. Bytes not handed out are not hashed.
func (p *pump) finish() (int64, []byte, error) {
	n, h, err := p.stop()
	return n, h.Sum(nil), err
}

// stop is finish, returning the hash itself, which the caller may go on
// writing to (see Writer.add).
func (p *pump) stop() (int64, hash.Hash, error) {
	close(p.done)
	if p.buf != nil && len(p.cur) == 0 {
		p.hashCh <- p.buf
	} else if p.buf != nil {
		// Partly handed out: hash just that part, in order, after the rest.
		p.hashCh <- p.buf[:len(p.buf)-len(p.cur)]
	}
	p.buf, p.cur = nil, nil
	close(p.hashCh)
	// Unblock the reader if it waits to hand over a chunk.
	go func() {
		for range p.chunks {
		}
	}()
	p.wg.Wait()
	// Buffers back in free are no longer used by anyone: keep them for the
	// next artifact. One the reader still holds is left to the collector.
	for {
		select {
		case b := <-p.free:
			chunkPool.Put(&b)
			continue
		default:
		}
		break
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n, p.h, p.err
}
