// Command webserver is the distroless test target: one static binary in an
// otherwise empty image, with no shell and no tools. It serves HTTP, logs
// every request to stdout and a heartbeat to stderr, and plants a few known
// files so that tests can find them in captured filesystems.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

func main() {
	addr := flag.String("listen", ":8080", "address to listen on")
	plant := flag.String("plant", "/tmp/planted.txt", "file to write at start (empty: none)")
	exitAfter := flag.Duration("exit-after", 0, "exit with status 3 after this long (0: never)")
	flag.Parse()

	fmt.Fprintf(os.Stderr, "webserver starting on %s pid %d\n", *addr, os.Getpid())
	if *plant != "" {
		if err := os.MkdirAll(filepath.Dir(*plant), 0o755); err == nil {
			_ = os.WriteFile(*plant, []byte("planted by webserver\n"), 0o640)
		}
	}
	if *exitAfter > 0 {
		go func() {
			time.Sleep(*exitAfter)
			fmt.Fprintln(os.Stderr, "webserver exiting on purpose")
			os.Exit(3)
		}()
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s request %s %s from %s\n", time.Now().UTC().Format(time.RFC3339Nano), r.Method, r.URL.Path, r.RemoteAddr)
		fmt.Fprintf(w, "hello from webserver, path %s\n", r.URL.Path)
	})
	if err := http.ListenAndServe(*addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "webserver:", err)
		os.Exit(1)
	}
}
