package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// Action is what a plan does to one report.
type Action string

// The actions of DESIGN.md, and Error for a report that cannot be planned.
const (
	Create  Action = "create"  // not recorded: upload, process, poll, fetch
	Replace Action = "replace" // statements, operations, country or params changed: the same, from scratch
	// Reuse is a create or a replace whose result another report has
	// already: a completed record of the same endpoint with the same
	// digest (statements' bytes, operations, country, params) and an
	// intact output, which is copied, with no remote call (see reuse.go).
	Reuse   Action = "reuse"
	Resume  Action = "resume"  // recorded in flight, spec unchanged: continue where it stopped
	Retry   Action = "retry"   // the last attempt failed with a transient error: continue or start again
	Restore Action = "restore" // completed, but the output is missing or was edited: fetch again
	Move    Action = "move"    // only the output path changed: move the file
	// Render (pages.go) is an up-to-date report whose HTML page needs
	// writing or removing.
	Delete  Action = "delete"  // recorded, no longer desired: forget it (and prune its output)
	Blocked Action = "blocked" // failed permanently and nothing changed: nothing, until --replace
	Noop    Action = "noop"    // up to date
	// Suspended is a report whose manifest says suspend: true (or whose
	// drop does): nothing is done to it, its record or its output, whatever
	// it would need otherwise; its reason says what that is.
	Suspended Action = "suspended"
	// Error is a desired report whose statements cannot be read (a file
	// is missing, say) or whose output can never be written (a dropped
	// file's spec.Report.Problem). Nothing is done to it and its record, if any, is
	// kept; apply counts it as failed.
	Error Action = "error"
)

// Actions lists every action in the order a plan summary shows them.
var Actions = []Action{Create, Replace, Reuse, Resume, Retry, Restore, Move, Render, Delete, Blocked, Suspended, Error, Noop}

// Changes reports whether the action does something.
func (a Action) Changes() bool { return a != Noop && a != Blocked && a != Error && a != Suspended }

// Remote reports whether carrying out the action may call the API: the
// one definition of "needs the API", so that a run with nothing remote to
// do needs neither credentials nor an engine.
func (a Action) Remote() bool {
	switch a {
	case Create, Replace, Resume, Retry, Restore:
		return true
	}
	return false
}

// A Change is the planned action for one report, and why.
type Change struct {
	Address report.Address
	Action  Action
	Reasons []string
	Diff    []Difference // recorded → desired spec; empty for create and delete
	Err     error        // why an Error change cannot be planned
	// Prune is set on a Delete whose output is to be removed: prune is on,
	// and no desired report writes that path now. Applying it removes the
	// file only if it is still the one ledgerform wrote.
	Prune bool
	// PruneOld is set on a change that writes its output to a new path
	// (a replace whose output moved, say) when the old output is to be
	// removed once the new one is written: by the same rule as Prune.
	PruneOld bool
	// Page is the HTML page the change writes (or renames to) once the
	// output is written, "" for none (spec.Report.Page); PageMove the
	// page renamed with a moved output; PagesRemoved the pages it
	// removes (pages.go). The plan's Effects name each.
	Page         string
	PageMove     string
	PagesRemoved []string
	// Effects are the files on disk that applying the change removes,
	// overwrites, renames or leaves behind, and why.
	Effects []FileEffect

	// Desired is the spec to reach (nil for Delete); Files its statements'
	// fingerprints and Digest its digest.
	Desired *state.Spec
	Files   []state.File
	Digest  string
	// Record is the recorded state (nil for Create).
	Record *state.Record
	// Revision is the revision of the manifests the change comes from
	// (spec.Set.Revision): carrying it out records it on the report.
	Revision string
	// Source, for Reuse, is the completed record whose result is copied
	// (the store's own: not to be changed).
	Source *state.Record
}

// Plan is the set of changes that takes the recorded state to the
// desired one, sorted by address.
type Plan struct {
	Changes []Change
	// Recorded is the number of reports in the state when planned, for
	// the mass-delete safety stop.
	Recorded int
	// Warnings are things the plan left alone that a person should know.
	Warnings    []string
	set         *spec.Set
	outputsOnce sync.Once
	outputs     map[string]bool // the output paths of every desired report: never pruned
}

// MassDeleteError is the safety stop: a plan that would delete more than
// half of the recorded reports (a manifest emptied by a bad merge, a drop
// folder unmounted) is refused unless explicitly allowed.
type MassDeleteError struct{ Deletes, Recorded int }

func (e *MassDeleteError) Error() string {
	return fmt.Sprintf("the plan deletes %d of %d recorded reports (more than half); refusing", e.Deletes, e.Recorded)
}

// MassDelete returns the safety stop's error if the plan deletes more than
// half of the recorded reports, and nil otherwise. It is the one place the
// rule is written: apply refuses such a plan, plan warns of it, and the
// daemon holds its deletions back. A delete whose result another change
// reuses (a renamed report) does not count: its result lives on.
func (p *Plan) MassDelete() *MassDeleteError {
	reused := map[*state.Record]bool{}
	for _, c := range p.Changes {
		if c.Action == Reuse {
			reused[c.Source] = true
		}
	}
	n := 0
	for _, c := range p.Changes {
		if c.Action == Delete && !reused[c.Record] {
			n++
		}
	}
	if n > 0 && 2*n > p.Recorded {
		return &MassDeleteError{Deletes: n, Recorded: p.Recorded}
	}
	return nil
}

// Remote reports whether applying the plan may call the API.
func (p *Plan) Remote() bool {
	return slices.ContainsFunc(p.Changes, func(c Change) bool { return c.Action.Remote() })
}

// Summary counts the changes per action.
func (p *Plan) Summary() map[Action]int {
	m := make(map[Action]int, len(Actions))
	for _, a := range Actions {
		m[a] = 0
	}
	for _, c := range p.Changes {
		m[c.Action]++
	}
	return m
}

// HasChanges reports whether applying the plan would do anything.
func (p *Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action.Changes() {
			return true
		}
	}
	return false
}

// Options narrow or force a plan.
type Options struct {
	// Targets limits the plan to the addresses they select
	// (report.Address.Selects: drop.inbox selects every file of the
	// drop). Empty: every report.
	Targets []report.Address
	// Replace forces the replace action for these addresses.
	Replace []report.Address
	// Filter, if set, leaves out every address for which it returns
	// false, desired or recorded: the daemon uses it to hold back dropped
	// files that are not complete yet.
	Filter func(address report.Address) bool
	// Endpoint names the API the plan is to be applied against (as
	// Reconciler.Endpoint and state.Record.Endpoint do). Results are
	// reused only from records of the same endpoint; empty: none is.
	Endpoint string
}

// NewPlan compares the desired reports of set with the records of st and
// returns one change per report. Statement files are read only when
// their size, modification time or inode differ from the record's; output
// files are likewise only re-hashed when their stat changed.
func NewPlan(set *spec.Set, st Store, opts Options) (*Plan, error) {
	for _, r := range opts.Replace {
		if _, ok := set.Lookup(r); !ok {
			return nil, fmt.Errorf("--replace %s: no such report in the manifests", r)
		}
	}
	keep := func(a report.Address) bool {
		return targeted(a, opts.Targets) && (opts.Filter == nil || opts.Filter(a))
	}
	// Which desired reports and which records to look at. The records
	// are the store's own (View), never copied: a no-op plan of 100,000
	// reports would otherwise copy every one. With exact addresses as
	// targets (the daemon plans one at a time) nothing is scanned at all.
	var todo []spec.Report
	switch {
	case len(opts.Targets) > 0 && exact(opts.Targets):
		for _, t := range opts.Targets {
			if opts.Filter != nil && !opts.Filter(t) {
				continue
			}
			if d, ok := set.Lookup(t); ok {
				todo = append(todo, d)
			}
		}
	case len(opts.Targets) == 0 && opts.Filter == nil:
		todo = set.Reports
	default:
		for _, d := range set.Reports {
			if keep(d.Address) {
				todo = append(todo, d)
			}
		}
	}
	p := &Plan{Recorded: st.Len(), set: set}
	// Planning a report is a few stats (and a hash when a file changed):
	// spread over the CPUs, as git status spreads its lstats.
	p.Changes = make([]Change, len(todo))
	var found atomic.Int64 // desired reports with a record
	parallel(len(todo), func(i int) {
		d := todo[i]
		rec, ok := st.View(d.Address)
		if ok {
			found.Add(1)
		}
		p.Changes[i] = planOne(set.Dir, d, rec, slices.Contains(opts.Replace, d.Address))
		p.Changes[i].Revision = set.Revision
		p.Changes[i].Page = d.Page()
		if p.Changes[i].Action == Noop && (d.HTML || set.Settings.Prune) {
			planPage(set.Dir, &p.Changes[i], p.Changes[i].Page, set.Settings.Prune)
		}
		if d.Suspended {
			suspend(&p.Changes[i])
		}
	})
	if opts.Endpoint != "" {
		p.findReuse(set.Dir, st, opts)
	}
	// The records no desired report has: deletes. When every record was
	// found above there is none, and the addresses need not be listed.
	var gone []*state.Record
	switch {
	case len(opts.Targets) > 0 && exact(opts.Targets):
		for _, t := range opts.Targets {
			if opts.Filter != nil && !opts.Filter(t) {
				continue
			}
			if _, desired := set.Lookup(t); !desired {
				if r, ok := st.View(t); ok {
					gone = append(gone, r)
				}
			}
		}
	case int(found.Load()) < p.Recorded:
		for _, a := range st.Addresses() {
			if _, desired := set.Lookup(a); desired || !keep(a) {
				continue
			}
			if r, ok := st.View(a); ok {
				gone = append(gone, r)
			}
		}
	}
	missing := map[string]int{}
	for _, d := range set.Drops {
		if d.Missing {
			missing[d.Name] = 0
		}
	}
	for _, r := range gone {
		if n, ok := missing[r.Address.Name()]; ok && r.Address.Kind() == report.KindDrop {
			missing[r.Address.Name()] = n + 1
			continue
		}
		c := Change{Address: r.Address, Action: Delete, Record: r, Reasons: []string{goneReason(set, r)}}
		// A path another report writes now (a report renamed, say) is its
		// output, not this one's leftover.
		c.Prune = set.Settings.Prune && r.Output != nil && !p.desiredOutput(r.Spec.Output)
		if set.Suspended(r.Address) {
			suspend(&c) // a file that left a suspended drop's folder: kept
		}
		p.Changes = append(p.Changes, c)
	}
	for _, d := range set.Drops {
		if n := missing[d.Name]; d.Missing && n > 0 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("drop folder %s of drop.%s is missing: its %d recorded report(s) are kept, not deleted", d.Dir, d.Name, n))
		}
	}
	parallel(len(p.Changes), func(i int) {
		c := &p.Changes[i]
		c.Effects = append(p.fileEffects(set.Dir, set.Settings.Prune, c), p.pageEffects(set.Dir, set.Settings.Prune, c)...)
	})
	// The desired reports come sorted (spec.Load sorts them); only the
	// deletes, or a Set built by hand, need sorting in.
	byAddress := func(a, b Change) int { return strings.Compare(string(a.Address), string(b.Address)) }
	if !slices.IsSortedFunc(p.Changes, byAddress) {
		slices.SortFunc(p.Changes, byAddress)
	}
	return p, nil
}

// suspend turns c, planned as if its report were not suspended, into
// Suspended: nothing is done, and the reason says what would be done
// otherwise (the diff stays, to show it).
func suspend(c *Change) {
	reason := "suspended; nothing to do otherwise"
	if c.Action != Noop {
		reason = "suspended; otherwise: " + string(c.Action)
		if len(c.Reasons) > 0 {
			reason += " (" + strings.Join(c.Reasons, "; ") + ")"
		}
	}
	c.Action, c.Reasons, c.Err = Suspended, []string{reason}, nil
	c.Prune, c.PruneOld, c.PagesRemoved = false, false, nil
}

// exact reports whether every target names one address (not a whole
// drop, as drop.NAME does).
func exact(targets []report.Address) bool {
	return !slices.ContainsFunc(targets, report.Address.Whole)
}

// desiredOutput reports whether path is the output of a desired report.
func (p *Plan) desiredOutput(path string) bool {
	if p.set == nil {
		return false
	}
	p.outputsOnce.Do(func() {
		p.outputs = make(map[string]bool, len(p.set.Reports))
		for _, d := range p.set.Reports {
			p.outputs[d.Output] = true
		}
	})
	return p.outputs[path]
}

func targeted(addr report.Address, targets []report.Address) bool {
	return len(targets) == 0 || slices.ContainsFunc(targets, func(t report.Address) bool { return t.Selects(addr) })
}

// SpecOf returns the recorded form of a desired report.
func SpecOf(d spec.Report) state.Spec {
	return state.Spec{Statements: d.Statements, Operations: d.Operations, Country: d.Country, Params: d.Params, Output: d.Output}
}

// Digest is the identity of what a report asks the API for: its
// statements' contents in order, operations, country and params. The
// output path is not part of it (changing it is a move, not new work).
func Digest(s state.Spec, files []state.File) string {
	h := sha256.New()
	doc := struct {
		Files      []string       `json:"files"`
		Operations []string       `json:"operations"`
		Country    string         `json:"country"`
		Params     *report.Params `json:"params"`
	}{Operations: s.Operations, Country: s.Country, Params: s.Params}
	for _, f := range files {
		doc.Files = append(doc.Files, f.SHA256)
	}
	b, _ := json.Marshal(doc)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func planOne(dir string, d spec.Report, rec *state.Record, force bool) Change {
	want := SpecOf(d)
	c := Change{Address: d.Address, Desired: &want, Record: rec}
	if d.Problem != "" {
		c.Action, c.Err = Error, &problemError{d.Problem}
		c.Reasons = []string{d.Problem}
		return c
	}
	prev := func(path string) *state.File {
		if rec == nil {
			return nil
		}
		for i := range rec.Files { // a report has few statements: no map
			if rec.Files[i].Path == path {
				return &rec.Files[i]
			}
		}
		return nil
	}
	var total int64 // the upload's size so far: over the API's limit, nothing is read
	c.Files = make([]state.File, 0, len(d.Statements))
	for _, p := range d.Statements {
		f, err := fingerprint(dir, p, prev(p), api.MaxUploadBytes-total)
		if err != nil {
			c.Action, c.Err = Error, statementError(p, tooLarge(err, total))
			c.Reasons = []string{c.Err.Error()}
			return c
		}
		total += f.Size
		c.Files = append(c.Files, f)
	}
	if rec != nil && sameRequest(rec, want, c.Files) {
		c.Digest = rec.Digest // the same inputs: skip hashing them again
	} else {
		c.Digest = Digest(want, c.Files)
	}

	switch {
	case rec == nil:
		c.Action, c.Reasons = Create, []string{"not in the state"}
		return c
	case force:
		c.Action, c.Reasons = Replace, []string{"forced by --replace"}
		c.Diff = diff(newView(rec.Spec, rec.Files), newView(want, c.Files))
		return c
	case rec.Digest != c.Digest:
		c.Action, c.Reasons = Replace, changeReasons(rec, want, c.Files)
		c.Diff = diff(newView(rec.Spec, rec.Files), newView(want, c.Files))
		return c
	}
	if rec.Spec.Output != want.Output {
		c.Diff = diff(newView(rec.Spec, rec.Files), newView(want, c.Files))
	}
	switch rec.Phase {
	case state.Failed:
		if rec.LastError != nil && rec.LastError.Permanent {
			c.Action, c.Reasons = Blocked, []string{"failed permanently: " + failureText(rec.LastError), "change the statements or the spec, or force it with --replace " + d.Address.String()}
			return c
		}
		c.Action, c.Reasons = Retry, []string{"the last attempt failed: " + failureText(rec.LastError)}
		return c
	case state.Pending, state.Uploaded, state.Processing:
		c.Action, c.Reasons = Resume, []string{"interrupted while " + string(rec.Phase)}
		return c
	}
	// Completed: compare the output file with the one written.
	if rec.Spec.Output != want.Output {
		if outputIntact(dir, rec.Spec.Output, rec.Output) {
			c.Action, c.Reasons = Move, []string{fmt.Sprintf("output moves from %s to %s", rec.Spec.Output, want.Output)}
			return c
		}
		c.Action, c.Reasons = Restore, []string{fmt.Sprintf("output moves to %s and the old output %s is missing or edited", want.Output, rec.Spec.Output)}
		return c
	}
	if !outputIntact(dir, want.Output, rec.Output) {
		c.Action, c.Reasons = Restore, []string{outputProblem(dir, want.Output)}
		return c
	}
	c.Action = Noop
	return c
}

// sameRequest reports whether a record asked for exactly what want and
// files ask for, so that its digest stands without being recomputed.
func sameRequest(rec *state.Record, want state.Spec, files []state.File) bool {
	if rec.Digest == "" || len(rec.Files) != len(files) || rec.Spec.Country != want.Country ||
		!slices.Equal(rec.Spec.Operations, want.Operations) || !reflect.DeepEqual(rec.Spec.Params, want.Params) {
		return false
	}
	for i := range files {
		if rec.Files[i].SHA256 != files[i].SHA256 {
			return false
		}
	}
	return true
}

// parallel calls f(0) … f(n-1) on up to GOMAXPROCS goroutines and waits.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// tooLarge turns a statement over what is left of the upload limit (of
// which before bytes are taken by the statements before it) into the
// upload's own refusal, which blocks the report; other errors stay.
func tooLarge(err error, before int64) error {
	var tl *fsutil.TooLargeError
	if !errors.As(err, &tl) {
		return err
	}
	size := before + tl.Size
	if tl.Size < 0 {
		size = before + tl.Limit + 1
	}
	return &api.UploadTooLargeError{Size: size, Limit: api.MaxUploadBytes}
}

func statementError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("statement %s: no such file", path)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("statement %s: %w", path, err)
}

// outputIntact reports whether the file at path is the output as
// recorded. The file is hashed only when its stat differs from the record.
func outputIntact(dir, path string, rec *state.File) bool {
	if rec == nil {
		return false
	}
	var prev *state.File
	if rec.Path == path {
		prev = rec
	}
	f, err := fingerprint(dir, path, prev, 0)
	return err == nil && f.SHA256 == rec.SHA256
}

func outputProblem(dir, path string) string {
	if _, err := os.Stat(resolve(dir, path)); errors.Is(err, fs.ErrNotExist) {
		return "output " + path + " is missing"
	}
	return "output " + path + " was edited"
}

func failureText(f *state.Failure) string {
	if f == nil {
		return "unknown error"
	}
	if f.Code != "" && !strings.Contains(f.Message, f.Code) {
		return f.Code + ": " + f.Message
	}
	return f.Message
}

// changeReasons says in words what changed between the record and the
// desired spec.
func changeReasons(rec *state.Record, want state.Spec, files []state.File) []string {
	var rs []string
	old := make(map[string]string, len(rec.Files))
	for _, f := range rec.Files {
		old[f.Path] = f.SHA256
	}
	if !slices.Equal(rec.Spec.Statements, want.Statements) {
		rs = append(rs, "the list of statements changed")
	}
	for _, f := range files {
		if sum, ok := old[f.Path]; ok && sum != f.SHA256 {
			rs = append(rs, "statement "+f.Path+" changed")
		}
	}
	if !slices.Equal(rec.Spec.Operations, want.Operations) {
		rs = append(rs, "operations changed")
	}
	if rec.Spec.Country != want.Country {
		rs = append(rs, "country changed")
	}
	if mustJSON(rec.Spec.Params) != mustJSON(want.Params) {
		rs = append(rs, "params changed")
	}
	if len(rs) == 0 {
		rs = append(rs, "the recorded digest differs")
	}
	return rs
}
