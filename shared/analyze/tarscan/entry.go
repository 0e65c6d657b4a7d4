package tarscan

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"
	"time"
)

// Type is the kind of an entry as an analysis sees it.
type Type uint8

// Entry types. Whiteout and Opaque are the deletion markers of image
// layers; their Entry.Path is what they delete, not the marker's name.
const (
	Other Type = iota
	Regular
	Dir
	Symlink
	Hardlink
	CharDevice
	BlockDevice
	FIFO
	Whiteout
	Opaque
)

var typeNames = [...]string{
	Other: "other", Regular: "file", Dir: "dir", Symlink: "symlink", Hardlink: "hardlink",
	CharDevice: "char", BlockDevice: "block", FIFO: "fifo", Whiteout: "whiteout", Opaque: "opaque",
}

// String returns a short lower-case name such as "file" or "symlink".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "other"
}

// Mode bits beyond the permissions, as tar stores them.
const (
	ModeSetuid = 0o4000
	ModeSetgid = 0o2000
	ModeSticky = 0o1000
)

// MaxNameLength is the longest name accepted, PATH_MAX on Linux.
const MaxNameLength = 4096

// Entry is one tar header, normalised.
type Entry struct {
	// Name is the name exactly as the header gives it.
	Name string
	// Path is the entry's location rooted at "/" and cleaned, such as
	// "/usr/bin/su". For Whiteout it is the deleted path; for Opaque the
	// directory whose lower contents are hidden.
	Path string
	Type Type
	// Mode holds the permission bits and ModeSetuid, ModeSetgid, ModeSticky.
	Mode     uint32
	UID, GID int
	// Size is the content length of a regular file, 0 otherwise.
	Size    int64
	ModTime time.Time
	// Link is a symbolic link's target as written, or a hard link's
	// target as a cleaned path rooted at "/".
	Link string
}

// Issue is something hostile or broken about one entry.
type Issue struct {
	// Rule is a short identifier, one of the Rule* constants.
	Rule string
	// Name is the raw header name.
	Name string
	// Path is the cleaned path, when there is one.
	Path string
	// Reason says in words what is wrong and what it would do.
	Reason string
}

// Issue rules.
const (
	RuleAbsolutePath   = "absolute-path"
	RulePathEscape     = "path-escape"
	RuleLinkEscape     = "symlink-escape"
	RuleHardlinkEscape = "hardlink-escape"
	RuleWhiteoutEscape = "whiteout-escape"
	RuleBadName        = "bad-name"
)

// Normalize turns a header into an Entry and lists what is wrong with it.
// ok is false when the entry must not be used at all: its path leaves the
// root, or its name is empty, too long or holds a NUL byte.
func Normalize(h *tar.Header) (e Entry, issues []Issue, ok bool) {
	e = Entry{Name: h.Name, Mode: uint32(h.Mode) & 0o7777, UID: h.Uid, GID: h.Gid, ModTime: h.ModTime}
	name := h.Name
	issue := func(rule, p, format string, args ...any) {
		issues = append(issues, Issue{Rule: rule, Name: name, Path: p, Reason: fmt.Sprintf(format, args...)})
	}
	switch {
	case name == "":
		issue(RuleBadName, "", "entry has an empty name")
		return e, issues, false
	case len(name) > MaxNameLength:
		issue(RuleBadName, "", "entry name is %d bytes long, over the %d that Linux accepts", len(name), MaxNameLength)
		return e, issues, false
	case strings.IndexByte(name, 0) >= 0:
		issue(RuleBadName, "", "entry name holds a NUL byte")
		return e, issues, false
	}
	if strings.HasPrefix(name, "/") {
		issue(RuleAbsolutePath, "", "entry name is absolute: a careless extraction writes it outside the target folder")
	}
	p, escapes := rooted("/", name)
	if escapes {
		issue(RulePathEscape, "", "entry name climbs out of the root with \"..\": extracting it writes outside the target folder")
		return e, issues, false
	}
	e.Path = p

	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse:
		e.Type, e.Size = Regular, h.Size
	case tar.TypeDir:
		e.Type = Dir
	case tar.TypeSymlink:
		e.Type, e.Link = Symlink, h.Linkname
		if !path.IsAbs(h.Linkname) {
			if _, esc := rooted(path.Dir(p), h.Linkname); esc {
				issue(RuleLinkEscape, p, "symbolic link to %q points above the root", h.Linkname)
			}
		}
	case tar.TypeLink:
		e.Type = Hardlink
		target, esc := rooted("/", h.Linkname)
		if esc || h.Linkname == "" {
			issue(RuleHardlinkEscape, p, "hard link to %q points outside the archive's root: a careless extraction links to a file of the host", h.Linkname)
		}
		e.Link = target
	case tar.TypeChar:
		e.Type = CharDevice
	case tar.TypeBlock:
		e.Type = BlockDevice
	case tar.TypeFifo:
		e.Type = FIFO
	default:
		e.Type = Other
	}

	dir, base := path.Split(p)
	if strings.HasPrefix(base, ".wh.") {
		dir = path.Clean(dir)
		switch rest := base[len(".wh."):]; {
		case base == ".wh..wh..opq":
			e.Type, e.Path, e.Size, e.Link = Opaque, dir, 0, ""
		case strings.HasPrefix(rest, ".wh."):
			// aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not a deletion.
			e.Type = Other
		case rest == "" || rest == "." || rest == "..":
			issue(RuleWhiteoutEscape, p, "whiteout %q names no file of its folder: it would delete %q", base, path.Join(dir, rest))
			return e, issues, false
		default:
			e.Type, e.Path, e.Size, e.Link = Whiteout, path.Join(dir, rest), 0, ""
		}
	}
	if e.Path == "/" && e.Type != Dir && e.Type != Opaque {
		issue(RuleBadName, "/", "entry of type %s names the root itself", e.Type)
		return e, issues, false
	}
	return e, issues, true
}

// rooted joins name to the rooted folder dir and cleans the result. It
// reports whether a ".." went above "/" on the way, which path.Clean
// would hide.
func rooted(dir, name string) (string, bool) {
	depth := 0
	if !strings.HasPrefix(name, "/") {
		for _, c := range strings.Split(dir, "/") {
			if c != "" && c != "." {
				depth++
			}
		}
	}
	escapes := false
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
		case "..":
			if depth == 0 {
				escapes = true
			} else {
				depth--
			}
		default:
			depth++
		}
	}
	if strings.HasPrefix(name, "/") {
		return path.Clean(name), escapes
	}
	return path.Join(dir, name), escapes
}
