package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Access tokens are JWTs signed with HMAC-SHA256 under a key that lives only
// in the Server's memory, so the engine keeps no table of tokens that could
// grow: a token proves itself. The expiry is kept to the millisecond (a JWT
// NumericDate may be fractional) so that tests can use lifetimes of a second.

type claims struct {
	Issuer   string  `json:"iss"`
	Audience string  `json:"aud"`
	Subject  string  `json:"sub"`
	Grant    string  `json:"gty"`
	IssuedAt float64 `json:"iat"`
	Expires  float64 `json:"exp"`
	ID       string  `json:"jti"`
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

func (s *Server) issueToken(now time.Time) string {
	c := claims{
		Issuer: "ledgerform-engine", Audience: s.cfg.Audience, Subject: s.cfg.ClientID,
		Grant:    "client-credentials",
		IssuedAt: unixMilli(now), Expires: unixMilli(now.Add(s.cfg.TokenTTL)), ID: randomHex(8),
	}
	payload, _ := json.Marshal(c)
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signing + "." + base64.RawURLEncoding.EncodeToString(s.sign(signing))
}

func unixMilli(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (s *Server) sign(signing string) []byte {
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write([]byte(signing))
	return m.Sum(nil)
}

// checkToken returns nil when r carries a valid, unexpired bearer token.
func (s *Server) checkToken(r *http.Request, now time.Time) *apiError {
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if auth == "" {
		return unauthorized("missing Authorization header; send \"Authorization: Bearer <access_token>\" from POST /oauth/token")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return unauthorized("the Authorization header is not a bearer token")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return unauthorized("the bearer token is not a token this service issued")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, s.sign(parts[0]+"."+parts[1])) {
		return unauthorized("the bearer token is not a token this service issued")
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c claims
	if json.Unmarshal(payload, &c) != nil || c.Subject != s.cfg.ClientID {
		return unauthorized("the bearer token is not a token this service issued")
	}
	if unixMilli(now) >= c.Expires {
		return unauthorized("the bearer token has expired; request a new one from POST /oauth/token")
	}
	return nil
}

func unauthorized(detail string) *apiError {
	return fail(http.StatusUnauthorized, CodeAuthenticationFailed, detail)
}

// tokenRequest is the body of POST /oauth/token, as JSON or as a form.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Audience     string `json:"audience"`
}

// token answers POST /oauth/token: the client-credentials grant. Its errors
// are written in the OAuth form (writeOAuthError): a body that does not
// parse or lacks a field is 400 invalid_request, another grant 400
// unsupported_grant_type, a wrong client id or secret 401 invalid_client,
// a wrong audience 401 access_denied.
func (s *Server) token(w http.ResponseWriter, r *http.Request) *apiError {
	var req tokenRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return fail(http.StatusBadRequest, CodeParamsMissing, "reading the request body: "+err.Error())
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return fail(http.StatusBadRequest, CodeParamsMissing, "the form body does not parse: "+err.Error())
		}
		req = tokenRequest{form.Get("grant_type"), form.Get("client_id"), form.Get("client_secret"), form.Get("audience")}
	} else if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fail(http.StatusBadRequest, CodeParamsMissing, te.Field+" must be a string", te.Field)
		}
		return fail(http.StatusBadRequest, CodeParamsMissing,
			"the body is not a JSON object with grant_type, client_id, client_secret and audience (or the same as a form)")
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"grant_type", req.GrantType}, {"client_id", req.ClientID}, {"client_secret", req.ClientSecret}, {"audience", req.Audience},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if missing != nil {
		return fail(http.StatusBadRequest, CodeParamsMissing, "missing "+strings.Join(missing, ", "), missing...)
	}
	if req.GrantType != "client_credentials" {
		e := fail(http.StatusBadRequest, CodeParamsMissing, "grant_type must be client_credentials", "grant_type")
		e.oauth = oauthUnsupportedGrant
		return e
	}
	idOK := subtle.ConstantTimeCompare([]byte(req.ClientID), []byte(s.cfg.ClientID))
	secretOK := subtle.ConstantTimeCompare([]byte(req.ClientSecret), []byte(s.cfg.ClientSecret))
	if idOK&secretOK != 1 {
		return unauthorized("wrong client_id or client_secret")
	}
	if req.Audience != s.cfg.Audience {
		e := unauthorized("audience must be " + s.cfg.Audience)
		e.oauth = oauthAccessDenied
		return e
	}
	writeJSON(w, http.StatusOK, struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}{s.issueToken(s.cfg.Clock.Now()), int64(math.Ceil(s.cfg.TokenTTL.Seconds())), "Bearer"})
	return nil
}
