package evidence

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkSmallStreams writes many small streamed artifacts, like the logs
// of many containers: the read-ahead buffers must not be allocated anew
// for each one.
func BenchmarkSmallStreams(b *testing.B) {
	w, err := New(io.Discard, Options{Root: "r", Format: TarGz, SpoolDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	line := bytes.Repeat([]byte("2026-11-29T12:00:00Z GET /healthz 200\n"), 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for i := range b.N {
		if _, err := w.Add(Meta{Path: "logs/" + string(rune('a'+i%26)) + "/" + itoa(i) + ".log"}, bytes.NewReader(line)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLargeStream streams 256 MiB of zeros through the default format.
func BenchmarkLargeStream(b *testing.B) {
	b.SetBytes(256 << 20)
	for i := range b.N {
		w, err := New(io.Discard, Options{Root: "r", Format: TarGz, SpoolDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Add(Meta{Path: "big" + itoa(i)}, &zeros{n: 256 << 20}); err != nil {
			b.Fatal(err)
		}
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}
