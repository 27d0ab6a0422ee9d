package engine

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/internal/testutil"
)

// startEngine runs an engine on loopback for one test.
func startEngine(t testing.TB, cfg Config) *testClient {
	t.Helper()
	e, err := StartEmbedded(cfg)
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return &testClient{t: t, e: e, http: &http.Client{Timeout: 30 * time.Second}}
}

// testClient speaks the API over real HTTP, as a client would.
type testClient struct {
	t     testing.TB
	e     *Running
	http  *http.Client
	token string
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the answer's body.
func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", a.status, err, a.body)
	}
	return v
}

// apiError decodes the answer as the documented error array of one element.
func (a answer) apiError(t testing.TB) apiError {
	t.Helper()
	var errs []apiError
	if err := json.Unmarshal(a.body, &errs); err != nil || len(errs) != 1 {
		t.Fatalf("answer %d is not an error array of one element (%v):\n%s", a.status, err, a.body)
	}
	e := errs[0]
	if e.Title == "" || e.Detail == "" || e.Source == nil {
		t.Fatalf("error %s lacks title, detail or source: %s", e.ErrorCode, a.body)
	}
	return e
}

// oauthError is an error answer of the token endpoint.
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// expectOAuthError asserts that a is the given error of the token endpoint,
// in the OAuth form, and returns it.
func expectOAuthError(t testing.TB, a answer, status int, code string) oauthError {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d; body:\n%s", a.status, status, a.body)
	}
	var e oauthError
	if err := json.Unmarshal(a.body, &e); err != nil || e.ErrorDescription == "" {
		t.Fatalf("answer %d is not an OAuth error with a description (%v):\n%s", a.status, err, a.body)
	}
	if e.Error != code {
		t.Fatalf("error = %s, want %s (description %q)", e.Error, code, e.ErrorDescription)
	}
	return e
}

// expectError asserts that a is the given error and returns it.
func expectError(t testing.TB, a answer, status int, code string) apiError {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d; body:\n%s", a.status, status, a.body)
	}
	e := a.apiError(t)
	if e.ErrorCode != code {
		t.Fatalf("error-code = %s, want %s (detail %q)", e.ErrorCode, code, e.Detail)
	}
	return e
}

func (c *testClient) do(method, path, contentType string, body []byte, auth bool) answer {
	c.t.Helper()
	req, err := http.NewRequest(method, c.e.URL+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.login())
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// login returns a token, fetching one the first time.
func (c *testClient) login() string {
	c.t.Helper()
	if c.token != "" {
		return c.token
	}
	a := c.tokenRequest(c.e.ClientID, c.e.ClientSecret)
	if a.status != http.StatusOK {
		c.t.Fatalf("token: %d %s", a.status, a.body)
	}
	c.token = a.json(c.t)["access_token"].(string)
	return c.token
}

func (c *testClient) tokenRequest(id, secret string) answer {
	body, _ := json.Marshal(map[string]string{
		"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": DefaultAudience,
	})
	return c.do("POST", "/oauth/token", "application/json", body, false)
}

type file struct {
	name string
	data []byte
}

// multipartBody builds an upload body with each file in field.
func multipartBody(field string, files ...file) (contentType string, body []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range files {
		w, _ := mw.CreateFormFile(field, f.name)
		w.Write(f.data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func (c *testClient) upload(files ...file) answer {
	c.t.Helper()
	ct, body := multipartBody("input", files...)
	return c.do("POST", "/v2/report", ct, body, true)
}

// uploadID uploads files and returns the upload's request id.
func (c *testClient) uploadID(files ...file) string {
	c.t.Helper()
	a := c.upload(files...)
	if a.status != http.StatusAccepted {
		c.t.Fatalf("upload: %d %s", a.status, a.body)
	}
	return attr(c.t, a, "request-id")
}

func (c *testClient) process(uploadID string, body string) answer {
	c.t.Helper()
	return c.do("PUT", "/v2/report/process/"+uploadID, "application/json", []byte(body), true)
}

// processID requests categorisation of an upload and returns the new id.
func (c *testClient) processID(uploadID string) string {
	c.t.Helper()
	a := c.process(uploadID, `{"country":"uk","operations":["categorisation"]}`)
	if a.status != http.StatusAccepted {
		c.t.Fatalf("process: %d %s", a.status, a.body)
	}
	return attr(c.t, a, "request-id")
}

func (c *testClient) result(id string) answer {
	c.t.Helper()
	return c.do("GET", "/v2/report/"+id, "", nil, true)
}

// poll gets the result until it is no longer queued or processing. The
// deadline only guards against a hang.
func (c *testClient) poll(id string) answer {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := c.result(id)
		if a.status != http.StatusOK {
			return a
		}
		if s := attr(c.t, a, "status"); s != "queued" && s != "processing" {
			return a
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("report %s still not done", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// attr returns data.attributes[key] as a string.
func attr(t testing.TB, a answer, key string) string {
	t.Helper()
	data, _ := a.json(t)["data"].(map[string]any)
	attrs, _ := data["attributes"].(map[string]any)
	s, ok := attrs[key].(string)
	if !ok {
		t.Fatalf("no string data.attributes[%q] in %s", key, a.body)
	}
	return s
}

// metric returns the value of a series on the engine's /metrics.
func (c *testClient) metric(name string, labels map[string]string) float64 {
	c.t.Helper()
	return testutil.Metric(c.t, c.e.URL+"/metrics", name, labels)
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exampleStatement is the documentation's example.json
// (docs/api.md#the-example-statement).
func exampleStatement(t testing.TB) file {
	return file{"alex-watson-2019-08.json", readTestdata(t, "alex-watson-2019-08.json")}
}

// testEpoch is where the ManualClock of a test starts.
var testEpoch = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// waitComputed waits until a worker has computed report id's answer,
// whether or not its processing time lets a client see it yet.
func (c *testClient) waitComputed(id string) {
	c.t.Helper()
	st := c.e.srv.store
	deadline := time.Now().Add(20 * time.Second)
	for {
		st.mu.Lock()
		r := st.reports[id]
		computed := r != nil && r.phase == done
		st.mu.Unlock()
		if computed {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no worker computed report %s", id)
		}
		time.Sleep(time.Millisecond)
	}
}
