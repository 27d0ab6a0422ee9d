package daemon

import (
	"strings"
	"testing"

	"github.com/ledgerform/ledgerform/engine"
)

// While suspend: true is set, a changed statement costs no call and
// /status shows the report suspended; removing it applies the change.
func TestWatch_SuspendedReportIsLeftAlone(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation")))
	h := start(t, dir, Config{}, engine.Config{})
	h.eventually("the first full reconcile", h.settled)

	suspended := "  - {name: a, statements: [s/a.json], operations: [categorisation], country: uk, suspend: true}"
	saveLikeAnEditor(t, dir, "m.yaml", manifest(suspended))
	h.eventually("the manifest reloaded", func() bool {
		return h.metric("ledgerform_resyncs_total", map[string]string{"reason": "manifest"}) == 1 && h.settled()
	})
	calls := h.calls("upload") + h.calls("process") + h.calls("result") + h.calls("token")
	write(t, dir, "s/a.json", statement(11))
	h.eventually("the statement's change seen", func() bool {
		return len(h.lines(`msg="files changed"`)) == 1 && h.settled()
	})
	if got := h.lines(`msg="files changed"`)[0]; !strings.Contains(got, "queued=0") {
		t.Errorf("a suspended report was queued: %s", got)
	}
	if got := h.calls("upload") + h.calls("process") + h.calls("result") + h.calls("token"); got != calls {
		t.Errorf("%d calls for a suspended report", got-calls)
	}
	if rs := h.status().Reports; len(rs) != 1 || !rs[0].Suspended {
		t.Errorf("/status reports %+v, want report.a suspended", rs)
	}

	saveLikeAnEditor(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation")))
	h.eventually("the replace once suspend is removed", func() bool {
		return h.metric("ledgerform_reconcile_total", map[string]string{"action": "replace", "outcome": "success"}) == 1 && h.settled()
	})
	if rs := h.status().Reports; len(rs) != 1 || rs[0].Suspended {
		t.Errorf("/status reports %+v, want report.a not suspended", rs)
	}
}
