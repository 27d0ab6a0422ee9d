package spec

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/ledgerform/ledgerform/report"
)

// Load reads every manifest directly in dir (see IsManifest), checks it,
// expands globs and drop folders, and returns the desired state. It
// reads the file system (globs, drop folders, symbolic links) but never
// writes to it.
//
// On any problem it returns a nil Set and an Errors holding every problem
// it found in every file. Positions name a manifest as
// filepath.Join(dir, name): "reports.yaml" when dir is ".", and
// "/srv/m/reports.yaml" when dir is "/srv/m". An empty dir means ".". A
// directory with no manifest gives an empty Set, not an error.
//
// Load holds no state between calls and is safe for concurrent use: a
// watcher calls it again after a change, and keeps the previous Set when
// it fails.
func Load(dir string) (*Set, error) {
	return LoadFrom(dir, Manifests{})
}

// Manifests says where the manifests are read when they are not in the
// working directory: a revision of a git repository, checked out by
// package gitsource into a directory of its cache.
type Manifests struct {
	// Dir is the directory the manifest files are read from; "" is the
	// working directory itself (Load).
	Dir string
	// Name is how positions name Dir: a manifest f is Name/f in every
	// error ("1a2b3c4d5e6f:deploy/reports.yaml:3:5"), or Name+f when Name
	// ends in ":" ("1a2b3c4d5e6f:reports.yaml"): git show takes either.
	Name string
	// Revision is the revision Dir holds (Set.Revision).
	Revision string
}

// LoadFrom is Load with the manifests read from m.Dir instead of dir.
// Every relative path a manifest holds (statements, globs, drop folders,
// outputs) still resolves against dir, the working directory, and the
// rules about them are Load's: statements and outputs are personal data
// and live in dir, never in the repository the manifests come from.
func LoadFrom(dir string, m Manifests) (*Set, error) {
	if dir == "" {
		dir = "."
	}
	l := &loader{dir: dir, dirs: make(map[string]resolved), mdir: cmp.Or(m.Dir, dir), mname: m.Name, local: m.Dir == ""}
	set := l.load()
	if len(l.errs) > 0 {
		l.errs.sort()
		return nil, l.errs
	}
	set.Revision = m.Revision
	return set, nil
}

// A loader holds one call of Load.
type loader struct {
	dir string // as the caller gave it
	// mdir is where the manifests are read (dir, or Manifests.Dir), and
	// mname how positions name it; local is set when mdir is dir.
	mdir, mname string
	local       bool
	abs         string // dir made absolute, for comparing paths
	real        string // abs with every symbolic link resolved, for the symlink rule
	errs        Errors
	dirs        map[string]resolved // resolve's cache of directories, by relative path

	stateReal string          // StateDir in real, resolved
	manifests map[string]bool // the manifests' paths, resolved

	bad    map[string]string                 // badDirOnce's answers
	listed map[string]map[string]fs.FileMode // listOutputs' listings, by stored and by resolved dir; nil: not listable
}

type resolved struct {
	path string
	err  error
}

func (l *loader) load() *Set {
	entries, err := os.ReadDir(l.mdir)
	if err != nil {
		l.errs.add(Pos{File: cmp.Or(l.mname, l.dir)}, "cannot read the manifest directory: %v", err)
		return nil
	}
	if l.abs, err = filepath.Abs(l.dir); err != nil {
		l.errs.add(Pos{File: l.dir}, "cannot resolve the manifest directory: %v", err)
		return nil
	}
	if l.real, err = filepath.EvalSymlinks(l.abs); err != nil {
		l.errs.add(Pos{File: l.dir}, "cannot resolve the manifest directory: %v", err)
		return nil
	}

	set := &Set{Dir: l.dir}
	var ms []*manifest
	for _, e := range entries {
		if !IsManifest(e.Name()) || e.IsDir() {
			continue
		}
		file := filepath.Join(l.mdir, e.Name())
		data, ok := l.read(file, l.posName(e.Name()))
		if !ok {
			continue
		}
		set.Files = append(set.Files, file)
		m, errs := parse(l.posName(e.Name()), data)
		l.errs = append(l.errs, errs...)
		if m != nil {
			ms = append(ms, m)
		}
	}

	l.ownFiles(set.Files)
	for _, m := range ms {
		if s := m.settings; s != nil {
			if set.Settings.Pos.File != "" {
				l.errs.add(s.Pos, "settings are already set at %s; only one manifest may set them", set.Settings.Pos)
				continue
			}
			set.Settings = *s
		}
	}
	l.checkNames(ms)

	var outPos []Pos // the position to blame for each report's output
	for _, m := range ms {
		for _, r := range m.reports {
			rep, pos := l.report(r)
			rep.HTML = orDefault(r.html, set.Settings.HTML)
			if !r.bad {
				set.Reports = append(set.Reports, rep)
				outPos = append(outPos, pos)
			}
		}
	}
	var dropEntries []*dropEntry // parallel to set.Drops
	for _, m := range ms {
		for _, e := range m.drops {
			d, ok := l.drop(e)
			if !ok || e.bad {
				continue
			}
			d.HTML = orDefault(e.html, set.Settings.HTML)
			if _, err := os.Stat(l.osPath(d.Dir)); errors.Is(err, fs.ErrNotExist) {
				d.Missing = true
			}
			set.Drops = append(set.Drops, d)
			dropEntries = append(dropEntries, e)
			n := len(set.Reports)
			set.Reports = l.expand(set.Reports, d, e)
			outPos = slices.Grow(outPos, len(set.Reports)-n)
			for range len(set.Reports) - n {
				outPos = append(outPos, cmp.Or(e.outputDir.pos, e.pos))
			}
		}
	}
	l.checkDropDirs(set.Drops, dropEntries)
	l.checkOutputs(set, outPos)
	l.checkPages(set, outPos)
	l.checkOwnFiles(set, outPos, dropEntries)

	slices.SortFunc(set.Reports, func(a, b Report) int { return strings.Compare(string(a.Address), string(b.Address)) })
	slices.SortFunc(set.Drops, func(a, b Drop) int { return strings.Compare(a.Name, b.Name) })
	return set
}

// read returns the bytes of a manifest, refusing what is not a regular
// file (a FIFO would block) or is over the size limit. A symbolic link to
// a directory is skipped without a word, like a directory.
func (l *loader) read(file, name string) ([]byte, bool) {
	fi, err := os.Stat(file)
	switch {
	case err != nil:
		l.errs.add(Pos{File: name}, "cannot read manifest: %v", err)
		return nil, false
	case fi.IsDir():
		return nil, false
	case !fi.Mode().IsRegular():
		l.errs.add(Pos{File: name}, "manifest is %s, not a regular file", fileKind(fi.Mode()))
		return nil, false
	case fi.Size() > maxManifestSize:
		l.errs.add(Pos{File: name}, "manifest is %d bytes, over the limit of %d", fi.Size(), maxManifestSize)
		return nil, false
	}
	f, err := os.Open(file)
	if err != nil {
		l.errs.add(Pos{File: name}, "cannot read manifest: %v", err)
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	switch {
	case err != nil:
		l.errs.add(Pos{File: name}, "cannot read manifest: %v", err)
		return nil, false
	case len(data) > maxManifestSize:
		l.errs.add(Pos{File: name}, "manifest is over the limit of %d bytes", maxManifestSize)
		return nil, false
	}
	return data, true
}

// posName is how positions name the manifest file name.
func (l *loader) posName(name string) string {
	switch {
	case l.local:
		return filepath.Join(l.dir, name)
	case strings.HasSuffix(l.mname, ":"): // the top of a revision: "1a2b3c4d5e6f:reports.yaml"
		return l.mname + name
	}
	return path.Join(l.mname, name)
}

// checkNames reports names used more than once, across files and across
// reports and drops, each after its first use in file and document order.
func (l *loader) checkNames(ms []*manifest) {
	var all []*entry
	for _, m := range ms {
		for _, r := range m.reports {
			all = append(all, &r.entry)
		}
		for _, d := range m.drops {
			all = append(all, &d.entry)
		}
	}
	all = slices.DeleteFunc(all, func(e *entry) bool { return e.name == "" })
	slices.SortStableFunc(all, func(a, b *entry) int { return comparePos(a.namePos, b.namePos) })
	first := make(map[string]Pos)
	for _, e := range all {
		if p, dup := first[e.name]; dup {
			l.errs.add(e.namePos, "duplicate name %q (first at %s)", e.name, p)
			continue
		}
		first[e.name] = e.namePos
	}
}

// report checks and expands the paths of r. It returns the report and the
// position to blame for its output.
func (l *loader) report(r *reportEntry) (Report, Pos) {
	rep := Report{
		Address:    ReportAddress(r.name),
		Name:       r.name,
		Operations: r.operations,
		Country:    r.country,
		Params:     r.params,
		Suspended:  r.suspend,
		Pos:        r.pos,
	}
	seen := make(map[string]bool)
	for _, s := range r.statements {
		for _, p := range l.statement(s) {
			if !seen[p] {
				seen[p] = true
				rep.Statements = append(rep.Statements, p)
			}
		}
	}
	if r.output.set() {
		rep.Output, _ = l.clean(r.output, "output", true)
		return rep, r.output.pos
	}
	if r.name != "" {
		rep.Output, _ = l.clean(pathValue{path: "out/" + r.name + ".json", pos: r.pos}, "the default output", true)
	}
	return rep, r.pos
}

// drop checks the paths of e.
func (l *loader) drop(e *dropEntry) (Drop, bool) {
	d := Drop{
		Name:       e.name,
		Pattern:    e.pattern,
		Operations: e.operations,
		Country:    e.country,
		Params:     e.params,
		Suspended:  e.suspend,
		Pos:        e.pos,
	}
	ok := e.dir.set() && e.name != ""
	if e.dir.set() {
		var dirOK bool
		d.Dir, dirOK = l.clean(e.dir, "dir", false)
		ok = ok && dirOK
	}
	switch {
	case e.outputDir.set():
		var outOK bool
		d.OutputDir, outOK = l.clean(e.outputDir, "output_dir", false)
		ok = ok && outOK
	case e.name != "":
		var outOK bool
		d.OutputDir, outOK = l.clean(pathValue{path: "out/" + e.name, pos: e.pos}, "the default output_dir", false)
		ok = ok && outOK
	}
	return d, ok
}

// expand appends to reports a report for every regular file directly in
// d.Dir that d matches, sorted by file name. A drop dir that does not exist
// has no files: the producer may create it later.
func (l *loader) expand(reports []Report, d Drop, e *dropEntry) []Report {
	// Stat before ReadDir: opening a FIFO would block.
	fi, err := os.Stat(l.osPath(d.Dir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return reports
	case err == nil && !fi.IsDir():
		l.errs.add(e.dir.pos, "dir %q is not a directory", clip(e.dir.path))
		return reports
	}
	entries, err := os.ReadDir(l.osPath(d.Dir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return reports
	case errors.Is(err, syscall.ENOTDIR):
		l.errs.add(e.dir.pos, "dir %q is not a directory", clip(e.dir.path))
		return reports
	case err != nil:
		l.errs.add(e.dir.pos, "cannot read drop dir: %v", err)
		return reports
	}
	reports = slices.Grow(reports, len(entries))
	for _, f := range entries {
		// Type comes from lstat (or the directory entry): symbolic
		// links, directories, FIFOs and devices are never statements.
		if f.Type().IsRegular() && d.Matches(f.Name()) {
			reports = append(reports, d.Report(f.Name()))
		}
	}
	return reports
}

// checkDropDirs refuses a drop whose outputs land in a drop folder (its
// own or another's), where they would be taken for new statements.
func (l *loader) checkDropDirs(drops []Drop, entries []*dropEntry) {
	dirs := make(map[string]string) // key of a drop dir -> drop name
	for _, d := range drops {
		if _, dup := dirs[l.cmpKey(d.Dir)]; !dup {
			dirs[l.cmpKey(d.Dir)] = d.Name
		}
	}
	for i, d := range drops {
		other, clash := dirs[l.cmpKey(d.OutputDir)]
		if !clash {
			continue
		}
		e := entries[i]
		pos := cmp.Or(e.outputDir.pos, e.pos)
		if other == d.Name {
			l.errs.add(pos, "output_dir %q is the drop's own dir; its outputs would be taken for new statements", d.OutputDir)
		} else {
			l.errs.add(pos, "output_dir %q is the dir of drop %q; the outputs would be taken for its statements", d.OutputDir, other)
		}
	}
}

// checkOutputs refuses two reports writing one output, an output that
// overwrites a statement, and a report's output that a drop would take
// for a statement.
func (l *loader) checkOutputs(set *Set, outPos []Pos) {
	statements := make(map[string]report.Address) // key -> address
	for _, r := range set.Reports {
		for _, s := range r.Statements {
			if _, dup := statements[l.cmpKey(s)]; !dup {
				statements[l.cmpKey(s)] = r.Address
			}
		}
	}
	drops := make(map[string][]Drop) // key of a drop dir -> drops
	for _, d := range set.Drops {
		drops[l.cmpKey(d.Dir)] = append(drops[l.cmpKey(d.Dir)], d)
	}
	type owner struct {
		addr report.Address
		pos  Pos
	}
	outputs := make(map[string]owner)
	for i, r := range set.Reports {
		if r.Output == "" || r.Name == "" {
			continue
		}
		k, pos := l.cmpKey(r.Output), outPos[i]
		if first, dup := outputs[k]; dup {
			if first.addr != r.Address { // a repeated name, reported already
				l.errs.add(pos, "output %q of %s is also the output of %s (at %s)", r.Output, r.Address, first.addr, first.pos)
			}
			continue
		}
		outputs[k] = owner{r.Address, pos}
		if addr, ok := statements[k]; ok {
			l.errs.add(pos, "output %q of %s would overwrite a statement of %s", r.Output, r.Address, addr)
		}
		if r.Address.Kind() == report.KindDrop {
			continue // checkDropDirs covers drop outputs
		}
		for _, d := range drops[l.cmpKey(path.Dir(r.Output))] {
			if d.Matches(path.Base(r.Output)) {
				l.errs.add(pos, "output %q of %s is in the dir of drop %q and matches its pattern; it would be taken for a new statement", r.Output, r.Address, d.Name)
			}
		}
	}
}

// orDefault returns *b, or def when b is nil.
func orDefault(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// checkPages refuses an HTML page (Report.Page) that is also an output, a
// statement or another report's page, or that a drop would take for a
// statement. A dropped file's page that collides so is that file's
// Problem (its name is the cause), not the manifest's.
func (l *loader) checkPages(set *Set, outPos []Pos) {
	taken := make(map[string]string) // key -> what it is already
	for _, r := range set.Reports {
		if r.Output != "" {
			taken[l.cmpKey(r.Output)] = "the output of " + r.Address.String()
		}
		for _, s := range r.Statements {
			taken[l.cmpKey(s)] = "a statement of " + r.Address.String()
		}
	}
	drops := make(map[string][]Drop)
	for _, d := range set.Drops {
		drops[l.cmpKey(d.Dir)] = append(drops[l.cmpKey(d.Dir)], d)
	}
	for i := range set.Reports {
		r := &set.Reports[i]
		page := r.Page()
		if page == "" || r.Name == "" {
			continue
		}
		k := l.cmpKey(page)
		why := ""
		if what, ok := taken[k]; ok {
			why = "is also " + what
		}
		for _, d := range drops[l.cmpKey(path.Dir(page))] {
			if why == "" && d.Matches(path.Base(page)) {
				why = fmt.Sprintf("is in the dir of drop %q and matches its pattern; it would be taken for a new statement", d.Name)
			}
		}
		if why == "" {
			taken[k] = "the HTML page of " + r.Address.String()
			continue
		}
		if r.Address.Kind() == report.KindDrop {
			if r.Problem == "" {
				r.Problem = fmt.Sprintf("HTML page %s %s", page, why)
			}
			continue
		}
		l.errs.add(outPos[i], "HTML page %q of %s %s", page, r.Address, why)
	}
}

// key returns p (as stored in a Report) as an absolute OS path, for
// comparing paths written differently.
func (l *loader) key(p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(l.abs, p)
}

// cmpKey returns p (as stored in a Report) in a form that is the same
// for every way of writing one path, for comparing paths: like key, but
// relative to the manifest directory where p is in it, so that the many
// relative paths of a large drop folder are their own keys, not copies.
func (l *loader) cmpKey(p string) string {
	p = filepath.FromSlash(p)
	if !filepath.IsAbs(p) {
		return p // stored clean, and inside the directory
	}
	p = filepath.Clean(p)
	if rel, err := filepath.Rel(l.abs, p); err == nil && !leaves(rel) {
		return rel
	}
	return p
}

// osPath returns p (as stored in a Report) as an OS path usable from the
// current directory.
func (l *loader) osPath(p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.dir, p)
}

// clean checks a path written in a manifest and returns it as stored:
// slash-separated and clean, relative to the manifest directory or
// absolute as written. A relative path must stay in the directory, both
// as written (no "..") and once the symbolic links that exist are
// resolved. file says the path must name a file, not the directory.
func (l *loader) clean(pv pathValue, what string, file bool) (string, bool) {
	p := filepath.FromSlash(pv.path)
	if filepath.IsAbs(p) {
		return filepath.ToSlash(filepath.Clean(p)), true
	}
	c := filepath.Clean(p)
	switch {
	case leaves(c):
		l.errs.add(pv.pos, "%s %q leaves the manifest directory; write an absolute path to use a file outside it", what, clip(pv.path))
		return "", false
	case file && c == ".":
		l.errs.add(pv.pos, "%s %q names the manifest directory, not a file", what, clip(pv.path))
		return "", false
	}
	if !l.inside(c, pv.pos, what, pv.path) {
		return "", false
	}
	return filepath.ToSlash(c), true
}

// inside reports whether the clean relative path c stays in the manifest
// directory once resolved, and reports an error if not.
func (l *loader) inside(c string, pos Pos, what, written string) bool {
	r, err := l.resolve(c)
	if err != nil {
		l.errs.add(pos, "%s %q goes through a broken symbolic link: %v", what, clip(written), err)
		return false
	}
	if rel, err := filepath.Rel(l.real, r); err != nil || leaves(rel) {
		l.errs.add(pos, "%s %q leads outside the manifest directory through a symbolic link (to %s); write an absolute path to use a file outside it", what, clip(written), r)
		return false
	}
	return true
}

// leaves reports whether the clean relative path c starts with "..".
func leaves(c string) bool {
	return c == ".." || strings.HasPrefix(c, ".."+string(filepath.Separator))
}

// resolve returns the clean relative path c as an absolute path with
// every symbolic link that exists resolved; the components that do not
// exist (an output not yet written) are kept as they are. Directories are
// resolved once per Load, so that a glob of many files costs one lstat a
// file.
func (l *loader) resolve(c string) (string, error) {
	if c == "." {
		return l.real, nil
	}
	dir, base := filepath.Dir(c), filepath.Base(c)
	var rdir string
	if dir == "." {
		rdir = l.real
	} else {
		r, ok := l.dirs[dir]
		if !ok {
			r.path, r.err = l.resolve(dir)
			l.dirs[dir] = r
		}
		if r.err != nil {
			return "", r.err
		}
		rdir = r.path
	}
	p := filepath.Join(rdir, base)
	if t, ok := l.listedType(p); ok && t&fs.ModeSymlink == 0 {
		return p, nil // listed: not a symbolic link, or not there
	}
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return p, nil // nothing to resolve, or nothing there yet
	}
	return filepath.EvalSymlinks(p)
}

// statement checks one entry of a report's statements and returns the
// files it names: the path itself, or a glob's matches, sorted.
func (l *loader) statement(pv pathValue) []string {
	if !strings.ContainsAny(pv.path, "*?[") {
		if c, ok := l.clean(pv, "statement", true); ok && l.notState(c, pv) {
			return []string{c}
		}
		return nil
	}
	p := filepath.FromSlash(pv.path)
	abs := filepath.IsAbs(p)
	c := filepath.Clean(p)
	if !abs && leaves(c) {
		l.errs.add(pv.pos, "glob %q leaves the manifest directory; write an absolute path to use files outside it", clip(pv.path))
		return nil
	}
	if _, err := filepath.Match(c, ""); err != nil {
		l.errs.add(pv.pos, "invalid glob %q: %v", clip(pv.path), err)
		return nil
	}
	var matches []string
	if abs {
		matches, _ = filepath.Glob(c)
	} else {
		matches, _ = fs.Glob(os.DirFS(l.dir), filepath.ToSlash(c))
	}
	var files []string
	for _, m := range matches {
		if skipMatch(filepath.ToSlash(c), filepath.ToSlash(m)) {
			continue
		}
		osPath := m
		if !abs {
			osPath = filepath.Join(l.dir, filepath.FromSlash(m))
		}
		if fi, err := os.Stat(osPath); err != nil || fi.IsDir() {
			continue
		}
		if !abs && !l.inside(filepath.FromSlash(m), pv.pos, fmt.Sprintf("statement %q matched by glob", m), pv.path) {
			continue
		}
		if !l.notState(filepath.ToSlash(m), pv) {
			continue
		}
		files = append(files, filepath.ToSlash(m))
	}
	if len(files) == 0 {
		l.errs.add(pv.pos, "glob %q matches no files", clip(pv.path))
		return nil
	}
	slices.Sort(files)
	return files
}

// notState reports whether the statement c (as stored) is outside the
// state directory, and reports an error if not: the state and its lock
// (pid, host) are never uploaded.
func (l *loader) notState(c string, pv pathValue) bool {
	if why := l.own(c); strings.HasPrefix(why, "is in "+StateDir) {
		l.errs.add(pv.pos, "statement %q %s", clip(c), why)
		return false
	}
	return true
}

// skipMatch reports whether a glob's match has a temporary or hidden name
// where the glob has a wildcard: "statements/*.json" does not take
// "statements/.a.json", but ".data/a.json" is taken as written. pattern
// and match are slash-separated and have the same number of components.
func skipMatch(pattern, match string) bool {
	pc, mc := strings.Split(pattern, "/"), strings.Split(match, "/")
	if len(pc) != len(mc) {
		return false
	}
	for i := range pc {
		if strings.ContainsAny(pc[i], "*?[") && IsTemporary(mc[i]) {
			return true
		}
	}
	return false
}

// fileKind names the type of a file that is not regular.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
