// Command memtarget is the memory-capture test target: one static binary
// in an otherwise empty image, run as a non-root user. At start it makes a
// marker no file holds (random), keeps it on its heap and on the stack of
// a goroutine locked to its own OS thread, logs it, and serves HTTP on
// 127.0.0.1:8080 (loopback only: tests ask from inside its network
// namespace). -ballast N keeps N MiB more resident, filled with
// pseudo-random bytes (for slow captures and the benchmark).
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"time"
)

// heap keeps the marker on the heap for the life of the process; ballast
// the -ballast memory.
var heap, ballast []byte

func main() {
	mib := flag.Int("ballast", 0, "keep this many MiB more resident")
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve HTTP on")
	flag.Parse()
	ballast = make([]byte, *mib<<20)
	r := mrand.NewChaCha8([32]byte{1})
	r.Read(ballast)
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		fmt.Fprintln(os.Stderr, "memtarget:", err)
		os.Exit(1)
	}
	marker := "FORENSIC-MEMORY-MARKER-" + hex.EncodeToString(b)
	heap = []byte(marker)
	go onStack(marker)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "memtarget answers %s\n", r.URL.Path)
	})
	fmt.Printf("memtarget pid %d marker %s\n", os.Getpid(), marker)
	if err := http.ListenAndServe(*listen, nil); err != nil {
		fmt.Fprintln(os.Stderr, "memtarget:", err)
		os.Exit(1)
	}
}

// onStack holds a copy of the marker in its own stack frame, on a thread
// of its own, for ever.
func onStack(marker string) {
	runtime.LockOSThread()
	var frame [64]byte
	copy(frame[:], marker)
	for {
		time.Sleep(time.Second)
		runtime.KeepAlive(&frame)
	}
}
