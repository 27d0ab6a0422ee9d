package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// SavedPlanVersion is the format of a saved plan file. A file of another
// version is refused, not guessed at.
const SavedPlanVersion = 1

// A SavedPlan is a plan written by "plan --out FILE", for "apply FILE" to
// carry out exactly, as Terraform's saved plans are. It holds what the
// plan was made from — the state's lineage and serial, the digest of
// every manifest, the plan's options — and every change with what it
// acts on (digest, output, pruning). Applying it plans again and refuses
// unless the new plan is the same change for change: a saved plan is
// stale once the state or any input (a manifest, a statement, an output,
// a dropped file) changed since it was made.
//
// It is JSON, with the same document as "plan --json" under "plan", so
// that a reviewer can read it; it holds no secret, but it names
// statements and outputs, so it is written 0600.
type SavedPlan struct {
	FormatVersion int              `json:"ledgerform_saved_plan"`
	Created       time.Time        `json:"created"`
	Lineage       string           `json:"state_lineage"`
	Serial        uint64           `json:"state_serial"`
	Targets       []report.Address `json:"targets,omitempty"`
	Replace       []report.Address `json:"replace,omitempty"`
	Manifests     []InputDigest    `json:"manifests"`
	Plan          json.RawMessage  `json:"plan"`
	Checks        []changeCheck    `json:"checks"`
}

// An InputDigest is the SHA-256 of one input file.
type InputDigest struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// changeCheck is what a change acts on: equal checks, equal work.
type changeCheck struct {
	Address  report.Address `json:"address"`
	Action   Action         `json:"action"`
	Digest   string         `json:"digest,omitempty"`
	Output   string         `json:"output,omitempty"`
	Prune    bool           `json:"prune,omitempty"`
	PruneOld bool           `json:"prune_old,omitempty"`
	Page     string         `json:"page,omitempty"`
	// Record is the digest and phase of the record the change starts
	// from, so that a record changed by another run is seen.
	Record string `json:"record,omitempty"`
	// Source is the address and output hash of the record a reuse copies.
	Source string `json:"source,omitempty"`
}

func checksOf(p *Plan) []changeCheck {
	cs := make([]changeCheck, 0, len(p.Changes))
	for _, c := range p.Changes {
		k := changeCheck{Address: c.Address, Action: c.Action, Digest: c.Digest, Prune: c.Prune, PruneOld: c.PruneOld, Page: c.Page}
		if c.Desired != nil {
			k.Output = c.Desired.Output
		}
		if r := c.Record; r != nil {
			k.Record = fmt.Sprintf("%s %s %s %s", r.Phase, r.Digest, r.UploadID, r.ProcessID)
		}
		if s := c.Source; s != nil && s.Output != nil {
			k.Source = fmt.Sprintf("%s %s", s.Address, s.Output.SHA256)
		}
		cs = append(cs, k)
	}
	return cs
}

// Save returns the saved form of p, planned with opts from manifests
// against a state of that lineage and serial.
func (p *Plan) Save(lineage string, serial uint64, opts Options, manifests []InputDigest) (*SavedPlan, error) {
	var doc strings.Builder
	if err := p.WriteJSON(&doc); err != nil {
		return nil, err
	}
	return &SavedPlan{FormatVersion: SavedPlanVersion, Created: time.Now().UTC(), Lineage: lineage, Serial: serial,
		Targets: opts.Targets, Replace: opts.Replace, Manifests: manifests,
		Plan: json.RawMessage(doc.String()), Checks: checksOf(p)}, nil
}

// Write writes sp as indented JSON.
func (sp *SavedPlan) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sp)
}

// ReadSavedPlan reads a saved plan, refusing anything that is not one of
// this version.
func ReadSavedPlan(r io.Reader) (*SavedPlan, error) {
	var sp SavedPlan
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sp); err != nil {
		return nil, fmt.Errorf("not a saved plan: %w", err)
	}
	switch {
	case sp.FormatVersion == 0:
		return nil, errors.New("not a saved plan: no ledgerform_saved_plan version")
	case sp.FormatVersion != SavedPlanVersion:
		return nil, fmt.Errorf("a saved plan of format %d; this ledgerform reads format %d", sp.FormatVersion, SavedPlanVersion)
	case len(sp.Plan) == 0:
		return nil, errors.New("not a saved plan: it has no plan")
	}
	return &sp, nil
}

// Options returns the options the plan was made with.
func (sp *SavedPlan) Options() Options {
	return Options{Targets: sp.Targets, Replace: sp.Replace}
}

// Printable returns the saved plan as a Plan that WriteText and
// WriteJSON can print; it cannot be applied.
func (sp *SavedPlan) Printable() (*Plan, error) {
	var doc jsonPlan
	if err := json.Unmarshal(sp.Plan, &doc); err != nil {
		return nil, fmt.Errorf("the saved plan's plan: %w", err)
	}
	p := &Plan{Warnings: doc.Warnings}
	for _, c := range doc.Changes {
		pc := Change{Address: c.Address, Action: c.Action, Reasons: c.Reasons, Diff: c.Diff, Effects: c.Files}
		if c.Source != "" {
			pc.Source = &state.Record{Address: c.Source}
		}
		p.Changes = append(p.Changes, pc)
	}
	return p, nil
}

// StaleError says why a saved plan cannot be applied any more.
type StaleError struct{ Why []string }

func (e *StaleError) Error() string {
	return "the saved plan is stale: " + strings.Join(e.Why, "; ")
}

// Check returns nil if p, planned now with sp's options, is exactly the
// plan sp saved, against the same state and manifests; otherwise a
// *StaleError naming what changed (at most a few of the changes).
func (sp *SavedPlan) Check(p *Plan, lineage string, serial uint64, manifests []InputDigest) error {
	var why []string
	// An empty state (serial 0) has a lineage only once opened for
	// writing: two empty states are the same state.
	if serial != sp.Serial || (serial > 0 && lineage != sp.Lineage) {
		why = append(why, fmt.Sprintf("the state changed since it was made (serial %d, now %d)", sp.Serial, serial))
	}
	if !slices.Equal(manifests, sp.Manifests) {
		why = append(why, "the manifests changed since it was made")
	}
	now := make(map[report.Address]changeCheck)
	for _, k := range checksOf(p) {
		now[k.Address] = k
	}
	const most = 3
	changed := 0
	for _, k := range sp.Checks {
		n, ok := now[k.Address]
		delete(now, k.Address)
		if ok && n == k {
			continue
		}
		if changed++; changed > most {
			continue
		}
		if !ok {
			why = append(why, fmt.Sprintf("%s is no longer in the plan", k.Address))
		} else if n.Action != k.Action {
			why = append(why, fmt.Sprintf("%s was to %s, now %s", k.Address, k.Action, n.Action))
		} else {
			why = append(why, fmt.Sprintf("the inputs of %s changed", k.Address))
		}
	}
	for _, a := range slices.Sorted(maps.Keys(now)) {
		if changed++; changed <= most {
			why = append(why, fmt.Sprintf("%s is new in the plan", a))
		}
	}
	if changed > most {
		why = append(why, fmt.Sprintf("and %d more", changed-most))
	}
	if len(why) > 0 {
		return &StaleError{Why: why}
	}
	return nil
}
