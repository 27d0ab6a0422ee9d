package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/report"
)

// StateDir is the directory, inside the working directory, where
// ledgerform keeps its state, journal and lock. No path of a manifest
// may lead into it: an output there would overwrite the state, and a
// drop folder there would upload it.
const StateDir = ".ledgerform"

// maxComponent is the longest name of a directory on the way to an
// output, in bytes.
const maxComponent = 255

// ownFiles notes where ledgerform's own files are, once the manifests
// are read: the state directory and every manifest, resolved.
func (l *loader) ownFiles(manifests []string) {
	l.stateReal = realPath(filepath.Join(l.real, StateDir))
	l.manifests = make(map[string]bool, len(manifests))
	for _, m := range manifests {
		l.manifests[realPath(m)] = true
	}
}

// own says which of ledgerform's own files the path p (as stored in a
// Report) would touch, or returns "".
func (l *loader) own(p string) string {
	r := l.realOf(p)
	if rel, err := filepath.Rel(l.stateReal, r); err == nil && !leaves(rel) {
		return "is in " + StateDir + "/, where ledgerform keeps its state"
	}
	if l.manifests[r] || (l.local && filepath.Dir(r) == l.real && IsManifest(filepath.Base(r))) {
		return "would be read as a manifest"
	}
	return ""
}

// realOf returns p (as stored in a Report) as an absolute path with the
// symbolic links that exist resolved.
func (l *loader) realOf(p string) string {
	if filepath.IsAbs(filepath.FromSlash(p)) {
		return realPath(filepath.FromSlash(p))
	}
	r, err := l.resolve(filepath.FromSlash(p))
	if err != nil { // a broken link, refused by clean already
		return l.key(p)
	}
	return r
}

// realPath returns the absolute path p with the symbolic links of its
// longest existing prefix resolved.
func realPath(p string) string {
	p, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	var rest []string
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, rest...)...)
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// unwritable says why the output file p (as stored in a Report) could
// never be written, or returns "": a name too long (with the temporary
// name written first), an existing directory in its place, or a file
// where one of its directories should be.
func (l *loader) unwritable(p string) string {
	if err := fsutil.CheckName(path.Base(p)); err != nil {
		return "cannot be written: " + err.Error()
	}
	if why := l.badDirOnce(path.Dir(p)); why != "" {
		return why
	}
	if t, ok := l.listedType(filepath.FromSlash(p)); ok && t&fs.ModeSymlink == 0 {
		if t.IsDir() {
			return "is an existing directory"
		}
		return ""
	}
	if fi, err := os.Stat(l.osPath(p)); err == nil && fi.IsDir() {
		return "is an existing directory"
	}
	return ""
}

// badDirOnce is badDir, asked once per directory and Load: every output
// of a drop is in the same one.
func (l *loader) badDirOnce(d string) string {
	why, ok := l.bad[d]
	if !ok {
		why = l.badDir(d)
		if l.bad == nil {
			l.bad = make(map[string]string)
		}
		l.bad[d] = why
	}
	return why
}

// listThreshold is the number of reports of a drop from which its output
// directory is listed once instead of every output being looked up: a
// listing costs about as much as a few lstats, and one lstat per output
// of 100,000 is most of a no-op plan's time in Load.
const listThreshold = 64

// listOutputs lists the output directory of a drop with many reports, so
// that the checks of its outputs (is it a symbolic link, a directory?)
// read the types from the listing rather than with an lstat each. A
// directory that cannot be listed is left to the lstats.
func (l *loader) listOutputs(d Drop, reports int) {
	if reports < listThreshold || filepath.IsAbs(filepath.FromSlash(d.OutputDir)) {
		return
	}
	dir := filepath.FromSlash(d.OutputDir)
	if _, done := l.listed[dir]; done {
		return
	}
	types := map[string]fs.FileMode(nil)
	if f, err := os.Open(l.osPath(d.OutputDir)); err == nil {
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			if es, err := f.ReadDir(-1); err == nil {
				types = make(map[string]fs.FileMode, len(es))
				for _, e := range es {
					types[e.Name()] = e.Type()
				}
			}
		}
		f.Close()
	} else if errors.Is(err, fs.ErrNotExist) {
		types = map[string]fs.FileMode{} // nothing there: no output exists yet
	}
	if l.listed == nil {
		l.listed = make(map[string]map[string]fs.FileMode)
	}
	l.listed[dir] = types
	if types != nil {
		if real, err := l.resolve(dir); err == nil {
			l.listed[real] = types
		}
	}
}

// listedType returns the type of the file p (an OS path relative to the
// manifest directory, or resolved) from the listing of its directory, and
// whether that directory was listed; fs.ModeIrregular stands for "no such
// file".
func (l *loader) listedType(p string) (fs.FileMode, bool) {
	dir, base := filepath.Dir(p), filepath.Base(p)
	types, ok := l.listed[dir]
	if !ok || types == nil {
		return 0, false
	}
	t, ok := types[base]
	if !ok {
		return fs.ModeIrregular, true
	}
	return t, true
}

// badDir says why the directory d (as stored) could never hold an
// output, or returns "".
func (l *loader) badDir(d string) string {
	for _, c := range strings.Split(d, "/") {
		if len(c) > maxComponent {
			return fmt.Sprintf("cannot be written: a directory name on the way is %d bytes, over %d", len(c), maxComponent)
		}
	}
	fi, err := os.Stat(l.osPath(d))
	switch {
	case errors.Is(err, syscall.ENOTDIR), err == nil && !fi.IsDir():
		return "cannot be written: " + d + " (or a directory on the way to it) is a file, not a directory"
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "cannot be written: " + err.Error()
	}
	return ""
}

// checkOwnFiles refuses every output and drop path that would touch
// ledgerform's own files, and every output that could never be written.
// A named report's problem is the manifest's: an error at its output.
// A dropped file's is the file's (a name too long, say): it becomes
// that report's Problem, so that one badly named file does not stop the
// other reports. outPos is parallel to set.Reports.
func (l *loader) checkOwnFiles(set *Set, outPos []Pos, entries []*dropEntry) {
	badDrop := make(map[string]bool)
	for i, d := range set.Drops {
		e := entries[i]
		if why := l.own(d.Dir); why != "" {
			l.errs.add(e.dir.pos, "dir %q %s", d.Dir, why)
			badDrop[d.Name] = true
		}
		if l.local && l.realOf(d.Dir) == l.real {
			for _, m := range set.Files {
				if d.Matches(filepath.Base(m)) {
					l.errs.add(e.dir.pos, "dir %q is the manifest directory and pattern %q takes the manifest %s", d.Dir, d.Pattern, m)
					badDrop[d.Name] = true
					break
				}
			}
		}
		pos := e.pos
		if e.outputDir.set() {
			pos = e.outputDir.pos
		}
		if why := l.own(d.OutputDir); why != "" {
			l.errs.add(pos, "output_dir %q %s", d.OutputDir, why)
			badDrop[d.Name] = true
		} else if why := l.badDir(d.OutputDir); why != "" {
			l.errs.add(pos, "output_dir %q %s", d.OutputDir, why)
			badDrop[d.Name] = true
		}
	}
	perDrop := make(map[string]int)
	for i := range set.Reports {
		if set.Reports[i].Address.Kind() == report.KindDrop {
			perDrop[set.Reports[i].Name]++
		}
	}
	for _, d := range set.Drops {
		if !badDrop[d.Name] {
			l.listOutputs(d, perDrop[d.Name])
		}
	}
	for i := range set.Reports {
		r := &set.Reports[i]
		if r.Output == "" || r.Name == "" {
			continue
		}
		why := l.own(r.Output)
		if why == "" {
			why = l.unwritable(r.Output)
		}
		switch {
		case why == "":
		case r.Address.Kind() == report.KindReport:
			l.errs.add(outPos[i], "output %q of %s %s", r.Output, r.Address, why)
		case !badDrop[r.Name]:
			r.Problem = fmt.Sprintf("output %s %s", r.Output, why)
		}
	}
}
