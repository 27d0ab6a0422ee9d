package daemon

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// The push webhook, POST /hooks/git on --listen: a request that is signed
// with the secret (Config.HookSecret, from the environment) makes the
// daemon fetch the source at once, instead of at the next interval. It
// accepts the three signatures forges send:
//
//   - GitHub: X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>;
//   - Gitea (and Gogs): X-Gitea-Signature (X-Gogs-Signature): <hex HMAC-SHA256 of the body>;
//   - GitLab: X-Gitlab-Token: <the secret itself>.
//
// Anything else is 401 and changes nothing: no signature, a wrong one, or
// a daemon without a secret (then every request is refused: 403, "set
// the secret"). What the request says is never read beyond its signature:
// it names no ref, URL or command for git, which fetches only what watch
// was started with. Requests are rate-limited (hookRate a second, bursts
// of hookBurst; 429 past that) before any HMAC is computed, and a body is
// at most hookMaxBody bytes (413). An accepted request answers 202 once
// the fetch is queued; fetches asked for while one is pending are one.
const (
	hookRate    = 2
	hookBurst   = 10
	hookMaxBody = 1 << 20
)

// hookLimit is the webhook's rate limit.
type hookLimit struct{ l *rate.Limiter }

func newHookLimit() *hookLimit { return &hookLimit{rate.NewLimiter(hookRate, hookBurst)} }

// errUnsigned is a request with no signature header this hook knows.
var errUnsigned = errors.New("no signature: send X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token")

// checkSignature checks the request's signature of body against secret.
func checkSignature(h http.Header, body, secret []byte) error {
	mac := func() []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(body)
		return m.Sum(nil)
	}
	hexEqual := func(got string) bool {
		b, err := hex.DecodeString(strings.TrimSpace(got))
		return err == nil && hmac.Equal(b, mac())
	}
	switch {
	case h.Get("X-Hub-Signature-256") != "":
		sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
		if !ok || !hexEqual(sig) {
			return errors.New("X-Hub-Signature-256 does not match")
		}
	case h.Get("X-Gitea-Signature") != "" || h.Get("X-Gogs-Signature") != "":
		if !hexEqual(h.Get("X-Gitea-Signature") + h.Get("X-Gogs-Signature")) {
			return errors.New("X-Gitea-Signature does not match")
		}
	case h.Get("X-Gitlab-Token") != "":
		if subtle.ConstantTimeCompare([]byte(h.Get("X-Gitlab-Token")), secret) != 1 {
			return errors.New("X-Gitlab-Token does not match")
		}
	default:
		return errUnsigned
	}
	return nil
}

// gitHook serves POST /hooks/git.
func (d *Daemon) gitHook(w http.ResponseWriter, r *http.Request) {
	count := d.metrics.gitHooks.WithLabelValues
	refuse := func(code int, result, msg string) {
		count(result).Inc()
		writeJSON(w, code, map[string]string{"error": msg})
	}
	if !d.hook.l.Allow() {
		w.Header().Set("Retry-After", "1")
		refuse(http.StatusTooManyRequests, "limited", "too many requests; a fetch is already on its way")
		return
	}
	if d.cfg.Source == nil {
		refuse(http.StatusNotFound, "disabled", "this daemon has no git source (watch --git)")
		return
	}
	secret := d.cfg.HookSecret.Reveal()
	if secret == "" {
		refuse(http.StatusForbidden, "disabled", "the webhook has no secret: set LEDGERFORM_GIT_WEBHOOK_SECRET for watch")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, hookMaxBody))
	if err != nil {
		refuse(http.StatusRequestEntityTooLarge, "too-large", "the body is over 1 MiB")
		return
	}
	if err := checkSignature(r.Header, body, []byte(secret)); err != nil {
		result := "bad-signature"
		if errors.Is(err, errUnsigned) {
			result = "unsigned"
		}
		d.log.Warn("push webhook refused", "reason", err.Error(), "remote", r.RemoteAddr)
		refuse(http.StatusUnauthorized, result, err.Error())
		return
	}
	count("accepted").Inc()
	d.log.Info("push webhook: fetching the source now", "remote", r.RemoteAddr)
	d.kickFetch()
	writeJSON(w, http.StatusAccepted, map[string]string{"fetch": "queued", "at": time.Now().UTC().Format(time.RFC3339)})
}
