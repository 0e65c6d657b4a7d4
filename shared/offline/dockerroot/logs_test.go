package dockerroot

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// frame encodes one local-driver entry: size, protobuf LogEntry, size.
func frame(source string, at time.Time, line string, partial bool) []byte {
	var pb []byte
	str := func(field byte, s string) {
		pb = append(pb, field<<3|2)
		pb = binary.AppendUvarint(pb, uint64(len(s)))
		pb = append(pb, s...)
	}
	str(1, source)
	pb = append(pb, 2<<3)
	pb = binary.AppendUvarint(pb, uint64(at.UnixNano()))
	str(3, line)
	if partial {
		pb = append(pb, 4<<3, 1)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(pb)))
	out = append(out, pb...)
	return binary.BigEndian.AppendUint32(out, uint32(len(pb)))
}

func TestReadLocalJoinsPartialsAndReportsATruncatedEnd(t *testing.T) {
	at := time.Date(2026, 12, 6, 20, 0, 0, 5, time.UTC)
	var file []byte
	file = append(file, frame("stdout", at, "one", false)...)
	file = append(file, frame("stderr", at, "par", true)...)
	file = append(file, frame("stderr", at, "tial", false)...)
	last := frame("stdout", at, "cut", false)
	file = append(file, last[:len(last)-2]...)
	var got []string
	err := readLocal(bytes.NewReader(file), func(e logEntry) error {
		got = append(got, e.stream+":"+string(e.line)+":"+e.time.UTC().Format(timeFormat))
		return nil
	})
	want := "stdout:one\n:2026-12-06T20:00:00.000000005Z|stderr:par:2026-12-06T20:00:00.000000005Z|stderr:tial\n:2026-12-06T20:00:00.000000005Z"
	if strings.Join(got, "|") != want {
		t.Errorf("entries\n got %q\nwant %q", strings.Join(got, "|"), want)
	}
	if err == nil || !strings.Contains(err.Error(), "entry 4: truncated") {
		t.Errorf("err = %v, want entry 4 truncated", err)
	}
}

func TestReadJSONFileSkipsATruncatedLastLine(t *testing.T) {
	in := `{"log":"a\n","stream":"stdout","time":"2026-12-06T20:00:00.1Z"}` + "\n" + `{"log":"b\n","stream":"std`
	var got []string
	err := readJSONFile(strings.NewReader(in), func(e logEntry) error { got = append(got, string(e.line)); return nil })
	if strings.Join(got, "") != "a\n" {
		t.Errorf("lines %q", got)
	}
	if err == nil || !strings.Contains(err.Error(), "line 2: truncated entry at the end") {
		t.Errorf("err = %v, want line 2 truncated", err)
	}
}
