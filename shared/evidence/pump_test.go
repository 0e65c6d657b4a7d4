package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestPump(t *testing.T) {
	data := make([]byte, 5*pumpChunkSize+12345)
	for i := range data {
		data[i] = byte(i * 31)
	}
	want := sha256.Sum256(data)
	tests := []struct {
		name string
		src  func() io.Reader
		copy func(dst io.Writer, p *pump) error
	}{
		{"WriteTo", func() io.Reader { return bytes.NewReader(data) }, func(dst io.Writer, p *pump) error { _, err := p.WriteTo(dst); return err }},
		{"small reads", func() io.Reader { return bytes.NewReader(data) }, func(dst io.Writer, p *pump) error {
			_, err := io.CopyBuffer(writerOnly{dst}, readerOnly{p}, make([]byte, 777))
			return err
		}},
		{"one-byte source", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:100000])) }, func(dst io.Writer, p *pump) error { _, err := p.WriteTo(dst); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := newPump(tt.src())
			if err := tt.copy(&out, p); err != nil {
				t.Fatal(err)
			}
			n, sum, err := p.finish()
			if err != nil {
				t.Fatal(err)
			}
			expect := data
			if tt.name == "one-byte source" {
				expect = data[:100000]
			}
			w := sha256.Sum256(expect)
			if tt.name != "one-byte source" {
				w = want
			}
			if n != int64(len(expect)) || !bytes.Equal(out.Bytes(), expect) || hex.EncodeToString(sum) != hex.EncodeToString(w[:]) {
				t.Errorf("n=%d want %d; output equal %v; sum %x want %x", n, len(expect), bytes.Equal(out.Bytes(), expect), sum, w)
			}
		})
	}
}

// TestPumpSourceError keeps what came before the failure, hashed.
func TestPumpSourceError(t *testing.T) {
	src := io.MultiReader(bytes.NewReader([]byte("before the failure")), iotest.ErrReader(errors.New("connection reset")))
	p := newPump(src)
	var out bytes.Buffer
	if _, err := p.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	n, sum, err := p.finish()
	want := sha256.Sum256([]byte("before the failure"))
	if err == nil || err.Error() != "connection reset" || n != 18 || !bytes.Equal(sum, want[:]) || out.String() != "before the failure" {
		t.Errorf("got n=%d err=%v out=%q", n, err, out.String())
	}
}

// blockingReader blocks until closed, like a stream whose peer is silent.
type blockingReader struct{ closed chan struct{} }

func (b blockingReader) Read([]byte) (int, error) {
	<-b.closed
	return 0, io.ErrClosedPipe
}

// TestPumpFinishEarly returns even when the source is still blocked, as
// after a failure of the output.
func TestPumpFinishEarly(t *testing.T) {
	src := io.MultiReader(bytes.NewReader(make([]byte, 3*pumpChunkSize)), blockingReader{closed: make(chan struct{})})
	p := newPump(src)
	buf := make([]byte, 1000)
	if _, err := io.ReadFull(p, buf); err != nil {
		t.Fatal(err)
	}
	n, _, _ := p.finish()
	if n != 1000 {
		t.Errorf("counted %d bytes handed out, want 1000", n)
	}
}
