package reconcile

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// A Difference is one changed value between the recorded and the desired
// spec of a report: a path in the JSON form of the spec, and both values
// as JSON (nil when the value is absent on that side).
type Difference struct {
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// view is the part of a report that a plan compares: its spec, with each
// statement's content hash beside its path.
type view struct {
	Statements []viewFile     `json:"statements"`
	Operations []string       `json:"operations"`
	Country    string         `json:"country"`
	Params     *report.Params `json:"params"`
	Output     string         `json:"output"`
}

type viewFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

func newView(s state.Spec, files []state.File) view {
	v := view{Operations: s.Operations, Country: s.Country, Params: s.Params, Output: s.Output}
	for i, p := range s.Statements {
		f := viewFile{Path: p}
		if i < len(files) && files[i].Path == p {
			f.SHA256 = files[i].SHA256
		}
		v.Statements = append(v.Statements, f)
	}
	return v
}

// diff returns the differences from old to new, in a stable order, found
// by go-cmp and rendered by differ (cmp.Diff's own text is unstable by
// design and never shown).
func diff(old, new view) (ds []Difference) {
	defer func() {
		// go-cmp panics on values it cannot compare; view has none, but a
		// plan must never crash on a diff.
		if recover() != nil {
			ds = []Difference{{Path: "", Old: json.RawMessage(mustJSON(old)), New: json.RawMessage(mustJSON(new))}}
		}
	}()
	var r differ
	cmp.Equal(old, new, cmp.Reporter(&r))
	return r.diffs
}

// differ is a cmp.Reporter that collects the path and both values of
// every unequal leaf.
type differ struct {
	path  cmp.Path
	diffs []Difference
}

func (r *differ) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }
func (r *differ) PopStep()                 { r.path = r.path[:len(r.path)-1] }

func (r *differ) Report(res cmp.Result) {
	if res.Equal() {
		return
	}
	vx, vy := r.path.Last().Values()
	r.diffs = append(r.diffs, Difference{Path: jsonPath(r.path), Old: render(vx), New: render(vy)})
}

// jsonPath spells a cmp path with the JSON names of the fields:
// statements[0].sha256, params.period.
func jsonPath(p cmp.Path) string {
	var b strings.Builder
	for i, step := range p {
		switch s := step.(type) {
		case cmp.StructField:
			parent := p[i-1].Type()
			name := s.Name()
			if f, ok := parent.FieldByName(name); ok {
				if tag := strings.Split(f.Tag.Get("json"), ",")[0]; tag != "" {
					name = tag
				}
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(name)
		case cmp.SliceIndex:
			ix, iy := s.SplitKeys()
			k := ix
			if k < 0 {
				k = iy
			}
			b.WriteString("[" + strconv.Itoa(k) + "]")
		case cmp.MapIndex:
			b.WriteString("[" + string(render(s.Key())) + "]")
		}
	}
	return b.String()
}

func render(v reflect.Value) json.RawMessage {
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return nil
	}
	return json.RawMessage(mustJSON(v.Interface()))
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}
