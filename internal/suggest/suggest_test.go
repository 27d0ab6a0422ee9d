package suggest

import "testing"

func TestClosest(t *testing.T) {
	words := []string{"operations", "output", "report.alex-2026", `drop.inbox["a.json"]`}
	for _, tc := range []struct{ word, want string }{
		{"operatons", "operations"},
		{"OUTPUT", "output"},
		{"report.alex-2025", "report.alex-2026"},
		{`drop.inbox["a.jsn"]`, `drop.inbox["a.json"]`},
		{"colour", ""},
		{"report.zzz", ""},
	} {
		if got := Closest(tc.word, words); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
	if d := Distance("kitten", "sitting"); d != 3 {
		t.Errorf("Distance(kitten, sitting) = %d, want 3", d)
	}
}
