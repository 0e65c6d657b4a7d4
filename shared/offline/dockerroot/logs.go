package dockerroot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/forensic-tools/forensic/shared/offline"
)

// timeFormat is the engine's timestamp for docker logs -t
// (jsonmessage.RFC3339NanoFixed).
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// logFile is one file of a log driver, rotated or current.
type logFile struct {
	path       string
	name       string // its name in the bundle
	driver     string // json-file or local
	gz         bool
	generation int // 0 current, N for .N
}

// logFiles finds the container's log files of both drivers, oldest first.
func (r *Root) logFiles(id string) ([]logFile, error) {
	var out []logFile
	var errs []error
	scan := func(dir, base, driver, prefix string) {
		entries, err := offline.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			return
		}
		for _, e := range entries {
			n := e.Name()
			if !e.Type().IsRegular() || !strings.HasPrefix(n, base) {
				continue
			}
			rest := strings.TrimPrefix(n, base)
			f := logFile{path: filepath.Join(dir, n), name: prefix + n, driver: driver}
			if strings.HasSuffix(rest, ".gz") {
				f.gz = true
				rest = strings.TrimSuffix(rest, ".gz")
			}
			if rest != "" {
				g, err := strconv.Atoi(strings.TrimPrefix(rest, "."))
				if err != nil || !strings.HasPrefix(rest, ".") {
					continue
				}
				f.generation = g
			}
			out = append(out, f)
		}
	}
	scan(r.path("containers", id), id+"-json.log", "json-file", "")
	scan(r.path("containers", id, "local-logs"), "container.log", "local", "local-logs/")
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].driver != out[j].driver {
			return out[i].driver < out[j].driver
		}
		return out[i].generation > out[j].generation
	})
	return out, errors.Join(errs...)
}

// logEntry is one decoded log message.
type logEntry struct {
	stream  string
	time    time.Time
	line    []byte
	partial bool
}

// decodeLogs writes every entry of files whose stream is one of streams,
// each prefixed with its timestamp as docker logs -t prints it. Entries it
// cannot decode are skipped and reported in the returned error; what was
// decoded is written.
func decodeLogs(w io.Writer, files []logFile, streams map[string]bool) error {
	bw := bufio.NewWriter(w)
	var errs []error
	for _, f := range files {
		err := readLogFile(f, func(e logEntry) error {
			if !streams[e.stream] {
				return nil
			}
			bw.WriteString(e.time.UTC().Format(timeFormat))
			bw.WriteByte(' ')
			_, err := bw.Write(e.line)
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// readLogFile calls fn for each entry of one log file.
func readLogFile(f logFile, fn func(logEntry) error) error {
	file, err := offline.OpenFile(f.path)
	if err != nil {
		return err
	}
	defer file.Close()
	var r io.Reader = file
	if f.gz {
		gz, err := gzip.NewReader(file)
		if err != nil {
			return fmt.Errorf("opening compressed log: %w", err)
		}
		defer gz.Close()
		r = gz
	}
	if f.driver == "local" {
		return readLocal(r, fn)
	}
	return readJSONFile(r, fn)
}

// readJSONFile decodes the json-file driver: one JSON object per line.
func readJSONFile(r io.Reader, fn func(logEntry) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var errs []error
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			var m struct {
				Log    string    `json:"log"`
				Stream string    `json:"stream"`
				Time   time.Time `json:"time"`
			}
			if jerr := json.Unmarshal(line, &m); jerr != nil {
				if err == io.EOF {
					errs = append(errs, fmt.Errorf("line %d: truncated entry at the end (%d bytes) skipped", n, len(line)))
				} else {
					errs = append(errs, fmt.Errorf("line %d: %v: skipped", n, jerr))
				}
			} else if ferr := fn(logEntry{stream: m.Stream, time: m.Time, line: []byte(m.Log)}); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err)
			break
		}
	}
	return errors.Join(errs...)
}

// maxLocalEntry bounds one entry of the local driver (the engine's own
// limit is 1 MiB of message plus framing).
const maxLocalEntry = 16 << 20

// readLocal decodes the local driver: each entry is a big-endian uint32
// size, a protobuf LogEntry, and the size again.
func readLocal(r io.Reader, fn func(logEntry) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var head [4]byte
	for n := 1; ; n++ {
		if _, err := io.ReadFull(br, head[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("entry %d: truncated size: %w", n, err)
		}
		size := binary.BigEndian.Uint32(head[:])
		if size > maxLocalEntry {
			return fmt.Errorf("entry %d: size %d is not a log entry: the rest of the file is skipped", n, size)
		}
		buf := make([]byte, size+4)
		if _, err := io.ReadFull(br, buf); err != nil {
			return fmt.Errorf("entry %d: truncated entry at the end skipped: %w", n, err)
		}
		if binary.BigEndian.Uint32(buf[size:]) != size {
			return fmt.Errorf("entry %d: sizes before and after differ: the rest of the file is skipped", n)
		}
		e, err := decodeEntry(buf[:size])
		if err != nil {
			return fmt.Errorf("entry %d: %w", n, err)
		}
		if !e.partial {
			e.line = append(e.line, '\n')
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// decodeEntry decodes a protobuf LogEntry: 1 source, 2 time_nano,
// 3 line, 4 partial (5, the partial metadata, is skipped).
func decodeEntry(b []byte) (logEntry, error) {
	var e logEntry
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return e, errors.New("bad protobuf key")
		}
		b = b[n:]
		field, wire := key>>3, key&7
		switch wire {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return e, errors.New("bad protobuf varint")
			}
			b = b[n:]
			switch field {
			case 2:
				e.time = time.Unix(0, int64(v))
			case 4:
				e.partial = v != 0
			}
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return e, errors.New("bad protobuf length")
			}
			v := b[n : n+int(l)]
			b = b[n+int(l):]
			switch field {
			case 1:
				e.stream = string(v)
			case 3:
				e.line = bytes.Clone(v)
			}
		case 1:
			if len(b) < 8 {
				return e, errors.New("bad protobuf fixed64")
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return e, errors.New("bad protobuf fixed32")
			}
			b = b[4:]
		default:
			return e, fmt.Errorf("protobuf wire type %d", wire)
		}
	}
	return e, nil
}
