package reconcile

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ledgerform/ledgerform/report"
)

// PlanFormatVersion is the format_version of a plan's JSON document. It
// changes only when a field changes meaning or disappears.
const PlanFormatVersion = 1

// symbols mark each action in the human plan, as Terraform's do.
var symbols = map[Action]string{
	Create: "+", Replace: "-/+", Reuse: "<=", Resume: ">", Retry: "~", Restore: "<",
	Move: "->", Render: "*", Delete: "-", Blocked: "!", Suspended: "‖", Error: "x", Noop: " ",
}

// effectSymbols and effectWords show a FileEffect in the human plan.
var (
	effectSymbols = map[Effect]string{Removed: "-", Overwritten: "!", Renamed: ">", LeftBehind: "="}
	effectWords   = map[Effect]string{Removed: "will be removed", Overwritten: "will be overwritten",
		Renamed: "will be renamed", LeftBehind: "will be left behind"}
)

// WriteText writes the plan for people: one block per report that
// changes, is blocked or suspended or cannot be planned, with its reasons, the diff
// of its spec and the files it removes, overwrites, renames or leaves
// behind, then a summary line. Up-to-date reports are only counted.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	shown := 0
	for _, c := range p.Changes {
		if c.Action == Noop {
			continue
		}
		if shown == 0 {
			b.WriteString("ledgerform will perform these actions:\n")
		}
		shown++
		what := verb(c.Action)
		if c.Action == Reuse && c.Source != nil {
			what = "created from the result of " + c.Source.Address.String()
		}
		fmt.Fprintf(&b, "\n  %-3s %s will be %s\n", symbols[c.Action], c.Address, what)
		for _, r := range c.Reasons {
			fmt.Fprintf(&b, "        # %s\n", r)
		}
		for _, d := range c.Diff {
			old, new := short(d.Old), short(d.New)
			switch {
			case d.Old == nil:
				fmt.Fprintf(&b, "        + %s = %s\n", d.Path, new)
			case d.New == nil:
				fmt.Fprintf(&b, "        - %s = %s\n", d.Path, old)
			default:
				fmt.Fprintf(&b, "        ~ %s: %s -> %s\n", d.Path, old, new)
			}
		}
		for _, e := range c.Effects {
			words := effectWords[e.Effect]
			if e.To != "" {
				words += " to " + e.To
			}
			fmt.Fprintf(&b, "        %s file %s %s (%s)\n", effectSymbols[e.Effect], e.Path, words, e.Reason)
		}
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "\nWarning: %s\n", w)
	}
	s := p.Summary()
	if !p.HasChanges() {
		if shown > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "No changes. %d up to date", s[Noop])
		if n := s[Blocked] + s[Error]; n > 0 {
			fmt.Fprintf(&b, ", %d blocked or failing", n)
		}
		if n := s[Suspended]; n > 0 {
			fmt.Fprintf(&b, ", %d suspended", n)
		}
		b.WriteString(".\n")
	} else {
		b.WriteString("\nPlan: ")
		var parts []string
		for _, a := range Actions {
			if s[a] > 0 {
				parts = append(parts, fmt.Sprintf("%d to %s", s[a], a))
			}
		}
		// "2 to create, 1 to noop" reads badly; say it plainly.
		b.WriteString(strings.NewReplacer("to noop", "up to date", "to blocked", "blocked", "to suspended", "suspended", "to error", "failing").
			Replace(strings.Join(parts, ", ")))
		b.WriteString(".\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// short abbreviates a SHA-256 value to its first 12 digits for people;
// the JSON plan keeps it whole.
func short(v json.RawMessage) string {
	s := string(v)
	if len(s) == 66 && s[0] == '"' && s[65] == '"' && strings.Trim(s[1:65], "0123456789abcdef") == "" {
		return s[:13] + "…\""
	}
	return s
}

func verb(a Action) string {
	switch a {
	case Create:
		return "created"
	case Replace:
		return "replaced"
	case Reuse:
		return "created from another report's result"
	case Resume:
		return "resumed"
	case Retry:
		return "retried"
	case Restore:
		return "restored"
	case Move:
		return "moved"
	case Render:
		return "rendered (its HTML page)"
	case Delete:
		return "deleted"
	case Blocked:
		return "left alone (blocked)"
	case Suspended:
		return "left alone (suspended)"
	case Error:
		return "skipped (cannot be planned)"
	}
	return "left alone"
}

// jsonPlan is the JSON document of a plan.
type jsonPlan struct {
	FormatVersion int            `json:"format_version"`
	Changes       []jsonChange   `json:"changes"`
	Summary       map[Action]int `json:"summary"`
	Warnings      []string       `json:"warnings,omitempty"`
}

type jsonChange struct {
	Address report.Address `json:"address"`
	Action  Action         `json:"action"`
	Reasons []string       `json:"reasons"`
	Diff    []Difference   `json:"diff"`
	Files   []FileEffect   `json:"files"`
	// Source is, for a reuse, the report whose result is copied.
	Source report.Address `json:"source,omitempty"`
}

// WriteJSON writes the plan as one JSON document: format_version,
// changes[] (every report, up-to-date ones with action "noop") with
// address, action, reasons, diff and files (path, effect: remove,
// overwrite, rename or keep, and reason), and for a reuse the source (the
// report whose result is copied), and a summary count per action.
func (p *Plan) WriteJSON(w io.Writer) error {
	doc := jsonPlan{FormatVersion: PlanFormatVersion, Changes: []jsonChange{}, Summary: p.Summary(), Warnings: p.Warnings}
	for _, c := range p.Changes {
		jc := jsonChange{Address: c.Address, Action: c.Action, Reasons: c.Reasons, Diff: c.Diff, Files: c.Effects}
		if c.Source != nil {
			jc.Source = c.Source.Address
		}
		if jc.Files == nil {
			jc.Files = []FileEffect{}
		}
		if jc.Reasons == nil {
			jc.Reasons = []string{}
		}
		if jc.Diff == nil {
			jc.Diff = []Difference{}
		}
		doc.Changes = append(doc.Changes, jc)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
