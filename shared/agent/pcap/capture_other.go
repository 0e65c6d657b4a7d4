//go:build !linux

package pcap

import (
	"context"
	"errors"
	"io"
)

// Capture is only implemented on Linux, where AF_PACKET exists.
func Capture(ctx context.Context, w io.Writer, o Options) (Stats, error) {
	return Stats{Format: o.Format, StopReason: StopError}, errors.New("packet capture needs Linux")
}
