package vulns

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	benchOnce sync.Once
	benchDir  string
)

// benchDB writes an OSV export of 100,000 synthetic records once: 60%
// Debian:12, then PyPI, npm, Go and Alpine, each with a CVSS vector and
// about 1.5 KB of details, as osv.dev's records are.
func benchDB(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "osv-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = dir
		details := strings.Repeat("A flaw was found in the parser. ", 48)
		f, err := os.Create(filepath.Join(dir, "all.zip"))
		if err != nil {
			b.Fatal(err)
		}
		zw := zip.NewWriter(f)
		for i := 0; i < 100000; i++ {
			var eco, name, fix string
			switch i % 10 {
			case 0, 1, 2, 3, 4, 5:
				eco, name, fix = "Debian:12", fmt.Sprintf("pkg%d", i%20000), fmt.Sprintf("1.%d-1", i%7)
			case 6:
				eco, name, fix = "PyPI", fmt.Sprintf("py%d", i%5000), fmt.Sprintf("2.%d", i%9)
			case 7:
				eco, name, fix = "npm", fmt.Sprintf("js%d", i%5000), fmt.Sprintf("3.%d.0", i%9)
			case 8:
				eco, name, fix = "Go", fmt.Sprintf("example.com/m%d", i%5000), fmt.Sprintf("1.%d.0", i%9)
			default:
				eco, name, fix = "Alpine:v3.19", fmt.Sprintf("pkg%d", i%20000), fmt.Sprintf("1.%d-r1", i%7)
			}
			r := rec(fmt.Sprintf("OSV-%06d", i), "2024-06-01T00:00:00Z", aff(eco, name, rng(map[bool]string{true: "SEMVER", false: "ECOSYSTEM"}[eco == "Go"], intro("0"), fixed(fix))))
			r["details"] = details
			r["aliases"] = []any{fmt.Sprintf("CVE-2024-%d", i)}
			r["severity"] = []any{map[string]any{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}
			w, err := zw.Create(fmt.Sprintf("OSV-%06d.json", i))
			if err == nil {
				err = json.NewEncoder(w).Encode(r)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	})
	return benchDir
}

// benchPackages is an image's 1,000 packages over the same ecosystems.
func benchPackages() []Package {
	var pkgs []Package
	for i := 0; i < 1000; i++ {
		switch i % 4 {
		case 0:
			pkgs = append(pkgs, Package{Type: "deb", Name: fmt.Sprintf("pkg%d", i*3), Version: "1.3-1"})
		case 1:
			pkgs = append(pkgs, Package{Type: "pypi", Name: fmt.Sprintf("py%d", i), Version: "2.4"})
		case 2:
			pkgs = append(pkgs, Package{Type: "npm", Name: fmt.Sprintf("js%d", i), Version: "3.4.0"})
		default:
			pkgs = append(pkgs, Package{Type: "golang", Name: fmt.Sprintf("example.com/m%d", i), Version: "v1.4.0"})
		}
	}
	return pkgs
}

// BenchmarkMatch100k matches 1,000 packages against 100,000 records:
// go test -run '^$' -bench Match100k -benchmem ./shared/analyze/vulns/
func BenchmarkMatch100k(b *testing.B) {
	dir := benchDB(b)
	pkgs := benchPackages()
	cpu0 := cpuTime()
	b.ResetTimer()
	var found int
	for range b.N {
		db, err := Open([]string{dir})
		if err != nil {
			b.Fatal(err)
		}
		res, err := Match(context.Background(), db, pkgs, Release{ID: "debian", VersionID: "12"})
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
		found = len(res.Findings)
		if res.Records != 100000 {
			b.Fatalf("read %d records", res.Records)
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	// CPU time, not only wall time: on a loaded machine the wall time says
	// more about the other processes.
	b.ReportMetric(float64(found), "findings")
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
