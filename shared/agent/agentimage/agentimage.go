package agentimage

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/forensic-tools/forensic/shared/agent"
	"github.com/forensic-tools/forensic/shared/agent/imagetar"
)

// Labels of the agent image that identify the agent in it.
const (
	// LabelSHA256 is the SHA-256 of the agent binary (hex).
	LabelSHA256 = "io.forensic-tools.agent.sha256"
	// LabelArch is the agent binary's GOARCH.
	LabelArch = "io.forensic-tools.agent.arch"
	// LabelSource says where the binary came from (Source values).
	LabelSource = "io.forensic-tools.agent.source"
)

// Where an agent binary comes from.
const (
	// SourceEmbedded is a static agent built into the plugin.
	SourceEmbedded = "embedded"
	// SourceSelf is the plugin's own executable, run as the agent.
	SourceSelf = "self"
	// SourceFile is a forensic-agent binary read from a file.
	SourceFile = "file"
)

// Agent is an agent binary and what it needs beside it in its image.
type Agent struct {
	// Source is one of the Source values.
	Source string
	// Arch is the binary's GOARCH.
	Arch string
	// Binary is the executable, placed at agent.BinaryPath; nil for an
	// agent read from a file (FromExecutable), which is read again only
	// when an image is written.
	Binary []byte
	// SHA256 is the hex SHA-256 of the executable.
	SHA256 string
	// Interpreter is the ELF interpreter a dynamically linked binary asks
	// for (PT_INTERP); empty for a static binary.
	Interpreter string
	// Libraries are the shared libraries it loads, as found on this host.
	Libraries []string
	// files are the interpreter and libraries as read from this host.
	files []imagetar.File
	// file and size are the executable of an agent from FromExecutable.
	file string
	size int64
}

// Static returns the agent for a static binary.
func Static(source, arch string, binary []byte) *Agent {
	s := sha256.Sum256(binary)
	return &Agent{Source: source, Arch: arch, Binary: binary, SHA256: hex.EncodeToString(s[:])}
}

// FromExecutable reads a linux ELF executable (such as /proc/self/exe) and,
// when it is dynamically linked, its interpreter and shared libraries. The
// architecture is the ELF's.
func FromExecutable(file, source string) (*Agent, error) {
	arch, err := ELFArch(file)
	if err != nil {
		return nil, err
	}
	// Hashed, not held: the plugin's own executable is tens of MiB, and
	// the image that holds it is usually on the engine already.
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	h := sha256.New()
	size, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	a := &Agent{Source: source, Arch: arch, SHA256: hex.EncodeToString(h.Sum(nil)), file: file, size: size}
	deps, err := Needs(file)
	if err != nil {
		return nil, err
	}
	a.Interpreter, a.Libraries = deps.Interpreter, deps.Libraries
	for _, p := range deps.paths() {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s, needed by %s: %w", p, file, err)
		}
		a.files = append(a.files, imagetar.File{Path: p, Data: data, Mode: 0o755})
	}
	return a, nil
}

// Labels returns the labels that identify the agent in its image.
func (a *Agent) Labels() map[string]string {
	return map[string]string{LabelSHA256: a.SHA256, LabelArch: a.Arch, LabelSource: a.Source}
}

// Describe is one line on the agent for custody records.
func (a *Agent) Describe() string {
	s := fmt.Sprintf("%s agent linux/%s, sha256 %s", a.Source, a.Arch, a.SHA256)
	if a.Interpreter != "" {
		s += fmt.Sprintf(", with its interpreter %s and libraries %s", a.Interpreter, strings.Join(a.Libraries, ", "))
	}
	return s
}

// WriteImage writes the image tarball of the agent under name: the binary
// at agent.BinaryPath as entrypoint, the interpreter and libraries at
// their paths, the agent's labels plus extra ones.
func (a *Agent) WriteImage(w io.Writer, name string, created time.Time, extra map[string]string) (imagetar.Result, error) {
	labels := a.Labels()
	for k, v := range extra {
		if _, ok := labels[k]; !ok {
			labels[k] = v
		}
	}
	o := imagetar.Options{Name: name, Path: agent.BinaryPath, Arch: a.Arch, Created: created, Labels: labels, Files: a.files}
	if len(a.Libraries) > 0 {
		// The loader in the image has no ld.so.cache: point it at the
		// folders the libraries were found in.
		var dirs []string
		seen := map[string]bool{}
		for _, l := range a.Libraries {
			if d := path.Dir(l); !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
		o.Env = []string{"LD_LIBRARY_PATH=" + strings.Join(dirs, ":")}
	}
	if a.Binary == nil && a.file != "" {
		f, err := os.Open(a.file)
		if err != nil {
			return imagetar.Result{}, fmt.Errorf("reading %s: %w", a.file, err)
		}
		defer f.Close()
		// The executable must still be the one hashed, as the image's
		// label says (/proc/self/exe cannot change while it runs).
		h := sha256.New()
		res, err := imagetar.Write(w, io.TeeReader(f, h), a.size, o)
		if err == nil && hex.EncodeToString(h.Sum(nil)) != a.SHA256 {
			err = fmt.Errorf("%s changed since it was hashed (sha256 %s)", a.file, a.SHA256)
		}
		return res, err
	}
	return imagetar.Write(w, bytes.NewReader(a.Binary), int64(len(a.Binary)), o)
}

// ELFArch returns the GOARCH of a linux ELF executable.
func ELFArch(file string) (string, error) {
	f, err := elf.Open(file)
	if err != nil {
		return "", fmt.Errorf("reading %s as ELF: %w", file, err)
	}
	defer f.Close()
	return goarch(f)
}

func goarch(f *elf.File) (string, error) {
	switch {
	case f.Machine == elf.EM_X86_64 && f.Class == elf.ELFCLASS64:
		return "amd64", nil
	case f.Machine == elf.EM_AARCH64:
		return "arm64", nil
	case f.Machine == elf.EM_386:
		return "386", nil
	case f.Machine == elf.EM_ARM:
		return "arm", nil
	case f.Machine == elf.EM_RISCV && f.Class == elf.ELFCLASS64:
		return "riscv64", nil
	case f.Machine == elf.EM_PPC64 && f.Data == elf.ELFDATA2LSB:
		return "ppc64le", nil
	case f.Machine == elf.EM_S390:
		return "s390x", nil
	}
	return "", fmt.Errorf("ELF machine %v (%v) is no architecture the agent is built for", f.Machine, f.Class)
}

// sortedUnique sorts and deduplicates in place.
func sortedUnique(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
