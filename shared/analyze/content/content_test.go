package content

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSniff(t *testing.T) {
	tests := []struct {
		head string
		want Magic
	}{
		{"\x7fELF\x02\x01\x01", ELF},
		{"#!/bin/sh\n", Script},
		{"\x1f\x8b\x08", Gzip},
		{"PK\x03\x04", Zip},
		{"RIFF\x00\x00\x00\x00WEBPVP8", WebP},
		{"hello", Unknown},
		{"", Unknown},
	}
	for _, tt := range tests {
		if got := Sniff([]byte(tt.head)); got != tt.want {
			t.Errorf("Sniff(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
}

func TestIsText(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"PATH=/usr/bin\nHOME=/root\n", true},
		{"caf\xc3\xa9\tna\xefve\r\n", true},
		{"a\x00b", false},
		{"\x01\x02\x03\x04abc", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsText([]byte(tt.in)); got != tt.want {
			t.Errorf("IsText(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestEntropy(t *testing.T) {
	random := make([]byte, 1<<20)
	rand.Read(random)
	tests := []struct {
		name     string
		data     []byte
		min, max float64
	}{
		{"zeros", make([]byte, 4096), 0, 0},
		{"text", bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog "), 1000), 3.5, 4.5},
		{"random", random, 7.9, 8},
	}
	for _, tt := range tests {
		var e Entropy
		e.Sample(tt.data, 4096, 16384)
		if got := e.Bits(); got < tt.min || got > tt.max {
			t.Errorf("%s: entropy %.2f, want in [%.1f, %.1f]", tt.name, got, tt.min, tt.max)
		}
	}
	got := []bool{StringBits("aaaaaaaaaaaaaaaa") < 1, StringBits("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4}
	if diff := cmp.Diff([]bool{true, true}, got); diff != "" {
		t.Errorf("StringBits (-want +got):\n%s", diff)
	}
}

func TestPacked(t *testing.T) {
	head := append([]byte("\x7fELF"), bytes.Repeat([]byte{0}, 200)...)
	if Packed(head) {
		t.Error("plain ELF reported packed")
	}
	if !Packed(append(head, "UPX!"...)) {
		t.Error("UPX marker not found")
	}
}
