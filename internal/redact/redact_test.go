package redact

import "testing"

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://tok@example.com/r.git", "https://example.com/r.git"},
		{"https://user:pa55@api.example.com:8443/v2/?q=1", "https://api.example.com:8443/v2/?q=1"},
		{"http://:secret@127.0.0.1:9/", "http://127.0.0.1:9/"},
		{"http://127.0.0.1:9", "http://127.0.0.1:9"},
		{"embedded", "embedded"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"}, // scp-like: not a URL, its user is no secret
		{"http://a b@host/%zz", "http://a b@host/%zz"},       // does not parse: as it is
		{"", ""},
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
