//go:build linux

package agentcmd

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// protectStdout returns the stream's output: a duplicate of stdout. File
// descriptor 1 itself is then pointed at stderr, so that a stray print
// from any library (gopacket's afpacket prints on an mmap failure) lands
// in the log instead of corrupting the binary stream. It refuses a
// terminal, which would mangle the stream.
func protectStdout(stdout, stderr *os.File) (*os.File, error) {
	fd := int(stdout.Fd())
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		return nil, errors.New("cowardly refusing to write the binary stream to a terminal: attach without a TTY (no -t), or redirect stdout")
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("duplicating stdout: %w", err)
	}
	if err := unix.Dup3(int(stderr.Fd()), fd, 0); err != nil {
		unix.Close(dup)
		return nil, fmt.Errorf("pointing stdout at stderr: %w", err)
	}
	return os.NewFile(uintptr(dup), "stream"), nil
}
