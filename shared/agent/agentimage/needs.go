package agentimage

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Deps is what a dynamically linked ELF executable needs to start.
type Deps struct {
	// Interpreter is the PT_INTERP path, such as /lib64/ld-linux-x86-64.so.2;
	// empty for a static executable.
	Interpreter string
	// Libraries are the DT_NEEDED libraries of the executable and, in turn,
	// of each library, as paths on this host, in the order first needed.
	// The interpreter itself is not repeated.
	Libraries []string
}

func (d Deps) paths() []string {
	if d.Interpreter == "" {
		return nil
	}
	return append([]string{d.Interpreter}, d.Libraries...)
}

// Needs finds the interpreter and the shared libraries of an ELF executable
// the way the loader of this host does: a name with a slash is a path;
// otherwise DT_RPATH (when there is no DT_RUNPATH), LD_LIBRARY_PATH,
// DT_RUNPATH, the folders of /etc/ld.so.conf (which ldconfig's cache is
// built from) and the system folders are searched in that order, and only
// a library of the executable's ELF class and machine is taken. A static
// executable needs nothing.
func Needs(file string) (Deps, error) {
	f, err := elf.Open(file)
	if err != nil {
		return Deps{}, fmt.Errorf("reading %s as ELF: %w", file, err)
	}
	defer f.Close()
	var d Deps
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return Deps{}, fmt.Errorf("reading the interpreter of %s: %w", file, err)
		}
		d.Interpreter = strings.TrimRight(string(b), "\x00")
	}
	if d.Interpreter == "" {
		return Deps{}, nil
	}
	if _, err := os.Stat(d.Interpreter); err != nil {
		return Deps{}, fmt.Errorf("the interpreter of %s: %w", file, err)
	}
	interpName := filepath.Base(d.Interpreter)
	if in, err := elf.Open(d.Interpreter); err == nil {
		if soname, _ := in.DynString(elf.DT_SONAME); len(soname) > 0 {
			interpName = soname[0]
		}
		in.Close()
	}
	r := &resolver{class: f.Class, machine: f.Machine, conf: ldSoConfDirs("/etc/ld.so.conf", map[string]bool{})}
	found := map[string]bool{interpName: true}
	type obj struct {
		path string
		f    *elf.File
	}
	queue := []obj{{file, f}}
	for len(queue) > 0 {
		o := queue[0]
		queue = queue[1:]
		needed, err := o.f.DynString(elf.DT_NEEDED)
		if err != nil {
			return Deps{}, fmt.Errorf("reading the libraries %s needs: %w", o.path, err)
		}
		for _, name := range needed {
			if found[name] {
				continue
			}
			found[name] = true
			p, lf, err := r.find(name, o.path, o.f)
			if err != nil {
				return Deps{}, fmt.Errorf("%s needs %s: %w", o.path, name, err)
			}
			defer lf.Close()
			d.Libraries = append(d.Libraries, p)
			queue = append(queue, obj{p, lf})
		}
	}
	return d, nil
}

type resolver struct {
	class   elf.Class
	machine elf.Machine
	conf    []string
}

// find returns the first library called name that the loader would take
// for the object at from, opened.
func (r *resolver) find(name, from string, f *elf.File) (string, *elf.File, error) {
	if strings.Contains(name, "/") {
		return r.try([]string{name})
	}
	origin := filepath.Dir(from)
	if real, err := filepath.EvalSymlinks(from); err == nil {
		origin = filepath.Dir(real)
	}
	var dirs []string
	runpath, _ := f.DynString(elf.DT_RUNPATH)
	if len(runpath) == 0 {
		rpath, _ := f.DynString(elf.DT_RPATH)
		dirs = append(dirs, searchPath(rpath, origin)...)
	}
	dirs = append(dirs, searchPath([]string{os.Getenv("LD_LIBRARY_PATH")}, origin)...)
	dirs = append(dirs, searchPath(runpath, origin)...)
	dirs = append(dirs, r.conf...)
	dirs = append(dirs, systemDirs(r.machine)...)
	var candidates []string
	for _, d := range dirs {
		candidates = append(candidates, filepath.Join(d, name))
	}
	p, lf, err := r.try(candidates)
	if err != nil {
		return "", nil, fmt.Errorf("not found in %s", strings.Join(dirs, ":"))
	}
	return p, lf, nil
}

// try opens the first candidate that is an ELF object of the right class
// and machine, as the loader skips others.
func (r *resolver) try(candidates []string) (string, *elf.File, error) {
	for _, c := range candidates {
		lf, err := elf.Open(c)
		if err != nil {
			continue
		}
		if lf.Class == r.class && lf.Machine == r.machine {
			return c, lf, nil
		}
		lf.Close()
	}
	return "", nil, errors.New("not found")
}

// searchPath splits colon-separated folder lists and expands $ORIGIN.
func searchPath(lists []string, origin string) []string {
	var dirs []string
	for _, l := range lists {
		for _, d := range strings.Split(l, ":") {
			if d == "" {
				continue
			}
			d = strings.NewReplacer("${ORIGIN}", origin, "$ORIGIN", origin).Replace(d)
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// ldSoConfDirs reads the folders of an ld.so.conf file and of the files it
// includes, in order.
func ldSoConfDirs(file string, seen map[string]bool) []string {
	if seen[file] {
		return nil
	}
	seen[file] = true
	fh, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer fh.Close()
	var dirs []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0 || fields[0] == "hwcap":
		case fields[0] == "include":
			for _, pat := range fields[1:] {
				if !filepath.IsAbs(pat) {
					pat = filepath.Join(filepath.Dir(file), pat)
				}
				matches, _ := filepath.Glob(pat)
				for _, m := range sortedUnique(matches) {
					dirs = append(dirs, ldSoConfDirs(m, seen)...)
				}
			}
		default:
			for _, f := range fields {
				for _, d := range strings.FieldsFunc(f, func(r rune) bool { return r == ',' || r == ':' }) {
					d, _, _ = strings.Cut(d, "=")
					if filepath.IsAbs(d) {
						dirs = append(dirs, d)
					}
				}
			}
		}
	}
	return dirs
}

// systemDirs are the folders the loader searches last: glibc's trusted
// folders on multiarch (Debian) and lib64 (Fedora) layouts, and musl's.
func systemDirs(m elf.Machine) []string {
	triplet := map[elf.Machine]string{elf.EM_X86_64: "x86_64-linux-gnu", elf.EM_AARCH64: "aarch64-linux-gnu"}[m]
	var dirs []string
	if triplet != "" {
		dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
	}
	return append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib")
}
