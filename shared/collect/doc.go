// Package collect runs collectors into an evidence bundle.
//
// A Collector produces one or more artifacts and writes them to a Sink.
// The Runner runs collectors in order, records per-artifact failures and
// goes on, stops early (marking the bundle incomplete) when the context is
// cancelled or the bundle cannot be written, and finishes the bundle with
// its custody record in every case. Progress is shown on a terminal.
//
// This package knows nothing about Docker or Kubernetes: their collectors
// live in shared/docker and shared/kube.
package collect
