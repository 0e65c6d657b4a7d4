package evidence

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// mixedData returns n bytes that alternate, in 64 KiB blocks, between
// incompressible random bytes, runs of zeros and log-like text, as
// container filesystems and logs do. It is the same on every call.
func mixedData(n int) []byte {
	const block = 64 << 10
	b := make([]byte, 0, n)
	src := rand.NewChaCha8([32]byte{7})
	rng := rand.New(src)
	for i := 0; len(b) < n; i++ {
		start, end := len(b), min(len(b)+block, n)
		b = b[:end]
		switch i % 3 {
		case 0:
			src.Read(b[start:end])
		case 1:
			clear(b[start:end])
		case 2:
			b = b[:start]
			for line := 0; len(b) < end; line++ {
				b = fmt.Appendf(b, "2026-11-29T12:%02d:%02d.%03dZ INFO request id=%08x path=/api/v1/items/%d status=200 bytes=%d\n",
					line/60%60, line%60, line%1000, rng.Uint32(), rng.IntN(100000), rng.IntN(1<<20))
			}
			b = b[:end]
		}
	}
	return b
}

// benchFormats are the formats each benchmark runs in, as sub-benchmarks.
var benchFormats = []Format{TarGz, TarZst, Zip, Tar}

// benchBundle writes one bundle file in dir with the artifacts that
// sources returns, streamed (size unknown, as container logs and exports
// are), finishes it, and removes it.
func benchBundle(b *testing.B, dir string, f Format, sources func() []io.Reader) {
	file := filepath.Join(dir, "bench"+f.Extension())
	w, err := Create(file, Options{Root: "bench", Format: f, SpoolDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	for i, r := range sources() {
		if _, err := w.Add(Meta{Path: fmt.Sprintf("artifacts/%04d", i)}, r); err != nil {
			w.Abort()
			os.Remove(file + ".partial")
			b.Fatal(err)
		}
	}
	if _, err := w.Finish(Custody{}); err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(file); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSmallStreams writes bundles of 300 small streamed artifacts of
// 2 to 66 KiB of mixed data, like the logs of many containers: the
// read-ahead buffers must not be allocated anew for each one.
func BenchmarkSmallStreams(b *testing.B) {
	data := mixedData(8 << 20)
	var parts [][]byte
	var total int64
	for i, off := 0, 0; i < 300; i++ {
		n := 2<<10 + i*7919%(64<<10)
		if off+n > len(data) {
			off = 0
		}
		parts = append(parts, data[off:off+n])
		off += n
		total += int64(n)
	}
	sources := func() []io.Reader {
		rs := make([]io.Reader, len(parts))
		for i, p := range parts {
			rs[i] = bytes.NewReader(p)
		}
		return rs
	}
	for _, f := range benchFormats {
		b.Run(f.String(), func(b *testing.B) {
			dir := b.TempDir()
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				benchBundle(b, dir, f, sources)
			}
		})
	}
}

// BenchmarkLargeStream writes bundles of one streamed artifact of 128 MiB
// of mixed data, like a container export: 32 MiB of mixed data, made
// once, streamed four times over.
func BenchmarkLargeStream(b *testing.B) {
	const repeat = 4
	data := mixedData(32 << 20)
	sources := func() []io.Reader {
		rs := make([]io.Reader, repeat)
		for i := range rs {
			rs[i] = bytes.NewReader(data)
		}
		return []io.Reader{io.MultiReader(rs...)}
	}
	for _, f := range benchFormats {
		b.Run(f.String(), func(b *testing.B) {
			dir := b.TempDir()
			b.SetBytes(repeat * int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				benchBundle(b, dir, f, sources)
			}
		})
	}
}
