package engine

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The fuzz tests drive the handlers in process (no sockets, for speed) and
// hold every answer to the contract: a documented status, a body that is
// either a success envelope or the error array, and never a 500 (which is
// what a panic in a handler turns into).

func fuzzServer(f *testing.F) (*Server, string) {
	s, err := New(Config{Workers: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	return s, "Bearer " + s.issueToken(s.cfg.Clock.Now())
}

func serve(s *Server, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// checkAnswer fails unless the answer has one of the allowed statuses and a
// body of the documented shape.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, allowed ...int) {
	t.Helper()
	if !containsInt(allowed, rec.Code) {
		t.Fatalf("status %d, want one of %v; body:\n%s", rec.Code, allowed, rec.Body)
	}
	if rec.Code >= 400 {
		var errs []apiError
		if err := json.Unmarshal(rec.Body.Bytes(), &errs); err != nil || len(errs) != 1 || errs[0].ErrorCode == "" || errs[0].Detail == "" {
			t.Fatalf("error answer is not the documented array (%v):\n%s", err, rec.Body)
		}
		return
	}
	checkSuccess(t, rec)
}

// checkTokenAnswer is checkAnswer for the token endpoint, whose errors
// are in the OAuth form.
func checkTokenAnswer(t *testing.T, rec *httptest.ResponseRecorder, allowed ...int) {
	t.Helper()
	if !containsInt(allowed, rec.Code) {
		t.Fatalf("status %d, want one of %v; body:\n%s", rec.Code, allowed, rec.Body)
	}
	if rec.Code >= 400 {
		var e oauthError
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.ErrorDescription == "" {
			t.Fatalf("error answer is not the OAuth form (%v):\n%s", err, rec.Body)
		}
		return
	}
	checkSuccess(t, rec)
}

func checkSuccess(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var ok struct {
		Data        map[string]json.RawMessage `json:"data"`
		AccessToken string                     `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ok); err != nil || (ok.Data == nil && ok.AccessToken == "") {
		t.Fatalf("success answer is not an envelope (%v):\n%s", err, rec.Body)
	}
}

func containsInt(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

func FuzzUpload(f *testing.F) {
	s, auth := fuzzServer(f)
	f.Add([]byte(`{"account_list":[{"transaction_list":[{"date":"2026-01-01","sum":-1.5,"partner":"Tesco"}]}]}`))
	f.Add([]byte(`{"account_list":[{"holder_name":"A B & C B","currency":"GBP","start_balance":1,"transaction_list":[]}]}`))
	f.Add([]byte("%PDF-1.4"))
	f.Add([]byte("\xff\xfe{}"))
	f.Add([]byte(`{"account_list":{}}`))
	f.Add([]byte(`[1,2,3]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ct, body := multipartBody("input", file{"fuzz.json", data})
		req := httptest.NewRequest("POST", "/v2/report", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", auth)
		rec := serve(s, req)
		checkAnswer(t, rec, 202, 400, 413)
		if rec.Code == 202 {
			// Forget it again, so that a long fuzz run stays within the quota.
			s.store.mu.Lock()
			for id, u := range s.store.uploads {
				s.store.expireUpload(u)
				delete(s.store.gone, id)
			}
			s.store.mu.Unlock()
		}
	})
}

func FuzzProcess(f *testing.F) {
	s, auth := fuzzServer(f)
	stmt := []byte(`{"account_list":[{"transaction_list":[{"date":"2026-01-01","sum":-1.5,"partner":"Tesco"}]}]}`)
	f.Add(`{"country":"uk","operations":["categorisation"]}`)
	f.Add(`{"country":"uk","operations":["categorisation"],"params":{"period":3,"currency":"GBP","income_definition":[85]}}`)
	f.Add(`{"country":7,"operations":[null]}`)
	f.Add(`{"country":"uk","operations":["features"]}`)
	f.Add(`{"country":"uk","operations":["categorisation"],"params":{"drop_joint_accounts":"yes"}}`)
	f.Add(`{} {}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, body string) {
		ct, up := multipartBody("input", file{"s.json", stmt})
		req := httptest.NewRequest("POST", "/v2/report", bytes.NewReader(up))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", auth)
		rec := serve(s, req)
		checkAnswer(t, rec, 202)
		var u struct {
			Data struct {
				Attributes struct {
					ID string `json:"request-id"`
				} `json:"attributes"`
			} `json:"data"`
		}
		json.Unmarshal(rec.Body.Bytes(), &u)

		req = httptest.NewRequest("PUT", "/v2/report/process/"+u.Data.Attributes.ID, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", auth)
		checkAnswer(t, serve(s, req), 202, 400, 403)

		s.store.mu.Lock()
		for _, u := range s.store.uploads {
			s.store.expireUpload(u)
		}
		for _, r := range s.store.reports {
			s.store.expireReport(r)
		}
		clear(s.store.gone)
		s.store.mu.Unlock()
	})
}

func FuzzToken(f *testing.F) {
	s, _ := fuzzServer(f)
	id, secret := s.Credentials()
	f.Add("application/json", `{"grant_type":"client_credentials","client_id":"`+id+`","client_secret":"`+secret+`","audience":"https://nordigen/api"}`)
	f.Add("application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=a&client_secret=b&audience=c")
	f.Add("application/x-www-form-urlencoded", "%zz")
	f.Add("text/plain", `{"client_id": 5}`)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		req := httptest.NewRequest("POST", "/oauth/token", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", contentType)
		checkTokenAnswer(t, serve(s, req), 200, 400, 401)
	})
}

func FuzzRoutes(f *testing.F) {
	s, auth := fuzzServer(f)
	f.Add("GET", "/v2/report/abc", true)
	f.Add("PUT", "/v2/report/process/", true)
	f.Add("GET", "/v2/category-tree/%00", true)
	f.Add("PATCH", "/oauth/token", false)
	f.Add("GET", "/v2/report", false)
	f.Fuzz(func(t *testing.T, method, path string, withToken bool) {
		req, err := http.NewRequest(method, "http://engine"+path, nil)
		if err != nil || req.URL.Path == "" || req.URL.Path[0] != '/' || path == "/metrics" {
			return // not a request a client could send, or not an API path
		}
		if withToken {
			req.Header.Set("Authorization", auth)
		}
		rec := serve(s, req)
		if rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect {
			return // the mux cleaning a path
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d:\n%s", method, path, rec.Code, rec.Body)
		}
		switch {
		case rec.Code >= 400 && req.URL.Path == "/oauth/token":
			checkTokenAnswer(t, rec, rec.Code)
		case rec.Code >= 400:
			checkAnswer(t, rec, rec.Code)
		}
	})
}
