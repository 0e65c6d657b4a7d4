package stream

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// budget is the memory that all spools of one Demux may hold together.
type budget struct {
	mu    sync.Mutex
	limit int64
	used  int64
}

func (b *budget) take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+int64(n) > b.limit {
		return false
	}
	b.used += int64(n)
	return true
}

func (b *budget) give(n int) {
	b.mu.Lock()
	b.used -= int64(n)
	b.mu.Unlock()
}

// spool buffers one artifact between the frame loop, which appends and never
// blocks, and the handler, which reads and blocks until data or the end
// arrives. Data lives in memory chunks while the shared budget allows and in
// an unlinked temporary file beyond it. Whenever the file holds unread
// bytes, new bytes go to the file too, so memory chunks are always older
// than file bytes and the order is kept.
type spool struct {
	mu   sync.Mutex
	cond sync.Cond

	budget *budget
	dir    string

	mem     [][]byte
	memHead int // offset into mem[0] already read

	file         *os.File
	fileName     string // set while the file still has a name to remove
	fileW, fileR int64

	done      bool  // no more bytes will come
	endErr    error // returned once everything is read: io.EOF or a failure
	discarded bool  // the reader is gone: drop what comes
	spillErr  error // the temporary file failed: surfaces to the reader
}

func newSpool(b *budget, dir string) *spool {
	s := &spool{budget: b, dir: dir}
	s.cond.L = &s.mu
	return s
}

// write appends p, which the spool may keep: the caller must not reuse it.
func (s *spool) write(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.discarded || s.spillErr != nil || len(p) == 0 {
		return
	}
	if !(s.file != nil && s.fileR < s.fileW) && s.budget.take(len(p)) {
		s.mem = append(s.mem, p)
		s.cond.Broadcast()
		return
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "forensic-stream-*.spool")
		if err != nil {
			s.spillErr = fmt.Errorf("spooling artifact to disk: %w", err)
			s.cond.Broadcast()
			return
		}
		s.file = f
		// Unlink at once where the OS allows it, so that nothing is left
		// behind even if the process dies; elsewhere remove on release.
		if os.Remove(f.Name()) != nil {
			s.fileName = f.Name()
		}
	}
	if _, err := s.file.WriteAt(p, s.fileW); err != nil {
		s.spillErr = fmt.Errorf("spooling artifact to disk: %w", err)
	} else {
		s.fileW += int64(len(p))
	}
	s.cond.Broadcast()
}

// finish marks the end of the artifact's bytes; the reader gets err (io.EOF
// for a normal end) once it has read everything.
func (s *spool) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.done = true
		s.endErr = err
	}
	s.cond.Broadcast()
}

func (s *spool) read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.discarded {
			return 0, errors.New("reading artifact after its handler returned")
		}
		if len(s.mem) > 0 {
			c := s.mem[0][s.memHead:]
			n := copy(p, c)
			s.memHead += n
			if s.memHead == len(s.mem[0]) {
				s.budget.give(len(s.mem[0]))
				s.mem[0] = nil
				s.mem = s.mem[1:]
				s.memHead = 0
			}
			return n, nil
		}
		if s.file != nil && s.fileR < s.fileW {
			want := int64(len(p))
			if left := s.fileW - s.fileR; left < want {
				want = left
			}
			n, err := s.file.ReadAt(p[:want], s.fileR)
			s.fileR += int64(n)
			if err != nil && !errors.Is(err, io.EOF) {
				return n, fmt.Errorf("reading spooled artifact: %w", err)
			}
			return n, nil
		}
		if s.spillErr != nil {
			return 0, s.spillErr
		}
		if s.done {
			return 0, s.endErr
		}
		if len(p) == 0 {
			return 0, nil
		}
		s.cond.Wait()
	}
}

// release drops everything the spool holds and makes later writes no-ops.
func (s *spool) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discarded = true
	for _, c := range s.mem {
		s.budget.give(len(c))
	}
	s.mem = nil
	if s.file != nil {
		s.file.Close()
		if s.fileName != "" {
			os.Remove(s.fileName)
		}
		s.file = nil
	}
	s.cond.Broadcast()
}
