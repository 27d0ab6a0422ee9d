package reconcile

import (
	"fmt"
	"os"
	"path"

	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// Effect is what applying a change does to a file that exists on disk
// besides writing a new output: the plan names every file it will
// remove, overwrite, rename or leave behind, so that nothing is lost
// unannounced.
type Effect string

// The effects on files.
const (
	Removed     Effect = "remove"    // deleted: an output pruned
	Overwritten Effect = "overwrite" // replaced by the new output
	Renamed     Effect = "rename"    // moved to the new output path
	LeftBehind  Effect = "keep"      // an output this report no longer owns, left where it is
)

// A FileEffect is one file a change touches or leaves, and why.
type FileEffect struct {
	Path   string `json:"path"`
	Effect Effect `json:"effect"`
	To     string `json:"to,omitempty"` // the new path, for rename
	Reason string `json:"reason"`
}

// fileEffects says what applying c does to the files on disk. It stats
// (and, when the stat changed, hashes) only the outputs involved.
func (p *Plan) fileEffects(dir string, prune bool, c *Change) []FileEffect {
	rec := c.Record
	var old *state.File // the output this report wrote, if any
	if rec != nil && rec.Output != nil {
		old = rec.Output
	}
	var fx []FileEffect
	switch c.Action {
	case Delete:
		if old == nil || !exists(dir, rec.Spec.Output) {
			return nil
		}
		return []FileEffect{p.leftOrRemoved(dir, prune, c.Prune, rec.Spec.Output, old, "")}
	case Move:
		fx = append(fx, FileEffect{Path: rec.Spec.Output, Effect: Renamed, To: c.Desired.Output, Reason: "only the output path changed"})
		if exists(dir, c.Desired.Output) {
			fx = append(fx, FileEffect{Path: c.Desired.Output, Effect: Overwritten, Reason: "a file is there already"})
		}
		return fx
	case Create, Replace, Reuse, Resume, Retry, Restore:
	default:
		return nil
	}
	out := c.Desired.Output
	if exists(dir, out) {
		why := "a file is there already"
		switch {
		case old != nil && rec.Spec.Output == out && outputIntact(dir, out, old):
			why = "it holds the previous result"
		case old != nil && rec.Spec.Output == out:
			why = "it was edited since ledgerform wrote it; the edits are lost"
		}
		fx = append(fx, FileEffect{Path: out, Effect: Overwritten, Reason: why})
	}
	if old != nil && rec.Spec.Output != out && exists(dir, rec.Spec.Output) {
		e := p.leftOrRemoved(dir, prune, prune && !p.desiredOutput(rec.Spec.Output), rec.Spec.Output, old, "the old output")
		fx = append(fx, e)
		if e.Effect == Removed {
			c.PruneOld = true
		}
	}
	return fx
}

// leftOrRemoved decides the fate of an output that its report no longer
// writes at path: removed when pruning and it is unedited, else left.
// what, if not empty, says which output it is.
func (p *Plan) leftOrRemoved(dir string, prune, remove bool, path string, f *state.File, what string) FileEffect {
	e := FileEffect{Path: path, Effect: LeftBehind}
	switch {
	case !prune:
		e.Reason = "prune is off"
	case !remove:
		e.Reason = "another report writes this path now"
	case !outputIntact(dir, path, f):
		e.Reason = "edited since ledgerform wrote it; prune removes only unedited outputs"
	default:
		e.Effect, e.Reason = Removed, "prune is on"
	}
	if what != "" {
		e.Reason = what + "; " + e.Reason
	}
	return e
}

// exists reports whether anything is at path.
func exists(dir, path string) bool {
	_, err := os.Lstat(resolve(dir, path))
	return err == nil
}

// goneReason says why a recorded report is no longer desired. For a
// dropped file it tells a file that left its folder, one that no longer
// matches the pattern, and a drop that moved or went, apart.
func goneReason(set *spec.Set, r *state.Record) string {
	const removed = "not in the manifests any more"
	file, ok := r.Address.File()
	if !ok || r.Address.Kind() != report.KindDrop {
		return removed
	}
	var d *spec.Drop
	for i := range set.Drops {
		if set.Drops[i].Name == r.Address.Name() {
			d = &set.Drops[i]
		}
	}
	if d == nil {
		return fmt.Sprintf("drop %s is not in the manifests any more", r.Address.Name())
	}
	if len(r.Spec.Statements) == 1 && path.Dir(r.Spec.Statements[0]) != d.Dir {
		return fmt.Sprintf("drop %s now reads %s, not %s", d.Name, d.Dir, path.Dir(r.Spec.Statements[0]))
	}
	fi, err := os.Lstat(resolve(set.Dir, path.Join(d.Dir, file)))
	switch {
	case err != nil:
		return fmt.Sprintf("the file left the drop folder %s", d.Dir)
	case !d.Matches(file):
		return fmt.Sprintf("the file no longer matches the drop's pattern %q", d.Pattern)
	case !fi.Mode().IsRegular():
		return "the file in the drop folder is no longer a regular file"
	}
	return removed
}
