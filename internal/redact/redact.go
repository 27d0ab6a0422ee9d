// Package redact takes secrets out of what ledgerform shows: a URL given
// by the user (an API endpoint, a git remote) may carry a user and a
// password, and neither may reach a log, an error or a page.
package redact

import "net/url"

// URL is raw without the user information of a URL (user and password).
// What does not parse as a URL, or has no user information, is returned
// as it is: an scp-like git remote (user@host:path) keeps its user, which
// is no secret.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
