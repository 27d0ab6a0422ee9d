package reconcile

import (
	"fmt"

	"github.com/ledgerform/ledgerform/internal/suggest"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
)

// CheckTargets refuses a target that selects nothing: an address in
// neither the manifests nor the state, or a whole drop the manifests do not
// declare and the state does not know. A mistyped --target must not make a
// run that does nothing and succeeds. flag names the flag in the error,
// which suggests the address probably meant.
func CheckTargets(set *spec.Set, st Store, flag string, targets []report.Address) error {
	var recorded []report.Address // read once, and only if needed
	for _, t := range targets {
		if t.Whole() {
			if hasDrop(set, t.Name()) {
				continue
			}
		} else if _, ok := set.Lookup(t); ok {
			continue
		} else if _, ok := st.Get(t); ok {
			continue
		}
		if recorded == nil {
			recorded = st.Addresses()
		}
		if t.Whole() && anySelected(t, recorded) {
			continue
		}
		return fmt.Errorf("%s %s: no such report in the manifests or the state%s", flag, t, didYouMean(t, set, recorded))
	}
	return nil
}

func hasDrop(set *spec.Set, name string) bool {
	for _, d := range set.Drops {
		if d.Name == name {
			return true
		}
	}
	return false
}

func anySelected(t report.Address, as []report.Address) bool {
	for _, a := range as {
		if t.Selects(a) {
			return true
		}
	}
	return false
}

// didYouMean is "; did you mean X?" for the known address nearest to t.
func didYouMean(t report.Address, set *spec.Set, recorded []report.Address) string {
	var words []string
	for _, r := range set.Reports {
		words = append(words, r.Address.String())
	}
	for _, d := range set.Drops {
		words = append(words, "drop."+d.Name)
	}
	for _, a := range recorded {
		words = append(words, a.String())
	}
	if best := suggest.Closest(t.String(), words); best != "" {
		return fmt.Sprintf("; did you mean %s?", best)
	}
	return ""
}
