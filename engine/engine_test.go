package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/internal/testutil"
)

// TestQuickStart walks the documented flow over real HTTP: token, upload,
// process, poll, result.
func TestQuickStart(t *testing.T) {
	c := startEngine(t, Config{})

	up := c.upload(exampleStatement(t))
	if up.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", up.status, up.body)
	}
	if got, want := attr(t, up, "status"), "completed"; got != want {
		t.Errorf("upload status = %q, want %q", got, want)
	}
	var upBody struct {
		Data struct {
			Attributes struct {
				Operations []string `json:"available-operations"`
				RequestID  string   `json:"request-id"`
			} `json:"attributes"`
			Relationships struct {
				Operations struct{ Links links } `json:"operations"`
			} `json:"relationships"`
			Type string `json:"type"`
		} `json:"data"`
	}
	json.Unmarshal(up.body, &upBody)
	uploadID := upBody.Data.Attributes.RequestID
	if got, want := upBody.Data.Type, "report pre-processing record"; got != want {
		t.Errorf("upload type = %q, want %q", got, want)
	}
	if got, want := strings.Join(upBody.Data.Attributes.Operations, ","), strings.Join(operations, ","); got != want {
		t.Errorf("available-operations = %s, want %s", got, want)
	}
	if got, want := upBody.Data.Relationships.Operations.Links.Related, c.e.URL+"/v2/report/process/"+uploadID; got != want {
		t.Errorf("related link = %q, want %q", got, want)
	}

	pr := c.process(uploadID, `{"country":"UK","operations":["categorisation","categorisation"],"use_webhook":false}`)
	if pr.status != http.StatusAccepted {
		t.Fatalf("process: %d %s", pr.status, pr.body)
	}
	procID := attr(t, pr, "request-id")
	if procID == uploadID {
		t.Errorf("process answered the upload id; the contract wants a new one")
	}
	if got := attr(t, pr, "status"); got != "queued" {
		t.Errorf("process status = %q, want queued", got)
	}
	if !bytes.Contains(pr.body, []byte(`"related":"`+c.e.URL+"/v2/report/"+procID+`"`)) {
		t.Errorf("process answer lacks the absolute result link:\n%s", pr.body)
	}

	res := c.poll(procID)
	if res.status != http.StatusOK || attr(t, res, "status") != "completed" {
		t.Fatalf("result: %d %s", res.status, res.body)
	}
	var body struct {
		Data struct {
			Attributes struct {
				Categorisation Categorisation `json:"categorisation"`
				Status         string
			} `json:"attributes"`
			Type string `json:"type"`
		} `json:"data"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil {
		t.Fatal(err)
	}
	if got, want := body.Data.Type, "report processing status"; got != want {
		t.Errorf("type = %q, want %q", got, want)
	}
	cat := body.Data.Attributes.Categorisation
	if got, want := cat.CategoryTreeVersion, "uk_202611230000"; got != want {
		t.Errorf("category_tree_version = %q, want %q", got, want)
	}
	if len(cat.Accounts) != 1 || len(cat.Accounts[0].Currencies) != 1 {
		t.Fatalf("want one account with one currency, got %+v", cat.Accounts)
	}
	acc := cat.Accounts[0]
	cur := acc.Currencies[0]
	if got, want := *acc.AccountNumber+" "+acc.Country+" "+*cur.Code, "GB29IBAN20160604201923 uk GBP"; got != want {
		t.Errorf("account = %q, want %q", got, want)
	}
	// The documented example's own arithmetic (docs/api.md#categorisation).
	if got, want := fmt.Sprint(cur.CreditTurnover, " ", cur.DebitTurnover, " ", *cur.StartBalance, " ", *cur.EndBalance),
		"1100.80 366.40 2016.46 2750.86"; got != want {
		t.Errorf("credit, debit, start, end = %s, want %s", got, want)
	}
	if !bytes.Contains(res.body, []byte(`"credit_turnover":1100.80`)) {
		t.Errorf("money is not written with two decimals:\n%s", res.body)
	}
	want := map[string]int{"arbritary-unique-id2": 85, "arbritary-unique-id5": 5239}
	for _, tx := range cur.Transactions {
		if id, ok := want[*tx.TransactionID]; ok && tx.CategoryID != id {
			t.Errorf("%s (%s): category %d %s, want %d", *tx.TransactionID, tx.Info, tx.CategoryID, tx.Title, id)
		}
		if tx.Title == "" {
			t.Errorf("%s: no title", *tx.TransactionID)
		}
	}
	if len(cur.Transactions) != 5 {
		t.Errorf("%d transactions, want 5", len(cur.Transactions))
	}
}

// TestErrors answers every error the engine decides on (docs/api.md#errors,
// docs/engine-contract.md), each with the documented status and a detail
// that names the problem.
func TestErrors(t *testing.T) {
	c := startEngine(t, Config{MaxUploadBytes: 4 << 10})
	ok := exampleStatement(t)
	notStatement := file{"list.json", []byte(`{"account_list": [{"transaction_list": [{"date": "2026-01-32", "sum": 1}]}]}`)}

	for _, tc := range []struct {
		name   string
		do     func() answer
		status int
		code   string
		detail string // a part of the detail
		source string // an element of source, if any
	}{
		{"upload without input", func() answer {
			ct, body := multipartBody("file", ok)
			return c.do("POST", "/v2/report", ct, body, true)
		}, 400, CodeParamsMissing, `no file in the field "input"`, "input"},
		{"upload not multipart", func() answer {
			return c.do("POST", "/v2/report", "application/json", ok.data, true)
		}, 400, CodeParamsMissing, "multipart/form-data", "input"},
		{"upload not UTF-8", func() answer { return c.upload(file{"latin1.json", []byte("{\"a\": \"caf\xe9\"}")}) },
			400, CodeNoSuitableParsers, `"latin1.json": not UTF-8: invalid byte 0xE9 at line 1, column 11`, "input"},
		{"upload not JSON", func() answer { return c.upload(file{"s.csv", []byte("date,sum\n2026-01-01,5\n")}) },
			400, CodeNoSuitableParsers, `"s.csv": not JSON`, "input"},
		{"upload not a statement", func() answer { return c.upload(ok, notStatement) },
			400, CodeNoSuitableParsers, `"list.json": account_list[0].transaction_list[0].date: "2026-01-32" is not a YYYY-MM-DD date`, "input"},
		{"upload PDF", func() answer { return c.upload(file{"s.pdf", []byte("%PDF-1.7\n%âãÏÓ\n1 0 obj")}) },
			400, CodePDFParseFailure, `"s.pdf": a PDF`, "input"},
		{"upload too large", func() answer {
			return c.upload(ok, file{"big.json", bytes.Repeat([]byte(" "), 4<<10)})
		}, 413, CodeRequestTooLarge, "at most 4096 bytes", "input"},
		{"process unknown upload", func() answer { return c.process("nope", `{"country":"uk","operations":["categorisation"]}`) },
			404, CodeNotFound, `no upload with request id "nope"`, ""},
		{"process missing operations", func() answer { return c.process(c.uploadID(ok), `{"country":"uk"}`) },
			400, CodeParamsMissing, "missing operations", "operations"},
		{"process empty operations", func() answer { return c.process(c.uploadID(ok), `{"country":"uk","operations":[]}`) },
			400, CodeParamsMissing, "operations is empty", "operations"},
		{"process operations wrong type", func() answer {
			return c.process(c.uploadID(ok), `{"country":"uk","operations":"categorisation"}`)
		}, 400, CodeParamsMissing, "operations must be an array of strings", "operations"},
		{"process missing country", func() answer { return c.process(c.uploadID(ok), `{"operations":["categorisation"]}`) },
			400, CodeParamsMissing, "missing country", "country"},
		{"process unknown operation", func() answer {
			return c.process(c.uploadID(ok), `{"country":"uk","operations":["categorisation","horoscope"]}`)
		}, 400, CodeParamsMissing, `unknown operation "horoscope"`, "operations"},
		{"process currency without a rate", func() answer {
			return c.process(c.uploadID(ok), `{"country":"uk","operations":["insights-income"],"params":{"currency":"ZZZ"}}`)
		}, 400, CodeParamsMissing, "no conversion rate for currency ZZZ", "params.currency"},
		{"process enterprise operation", func() answer {
			return c.process(c.uploadID(ok), `{"country":"uk","operations":["credit-scores"]}`)
		}, 403, CodeForbidden, `"credit-scores"`, "operations"},
		{"process unknown params", func() answer {
			return c.process(c.uploadID(ok), `{"country":"uk","operations":["categorisation"],"params":{"period":3,"colour":"red"}}`)
		}, 400, CodeParamsMissing, "unknown params colour", "params.colour"},
		{"process bad period", func() answer {
			return c.process(c.uploadID(ok), `{"country":"uk","operations":["categorisation"],"params":{"period":"six"}}`)
		}, 400, CodeParamsMissing, "period must be a whole number", "params.period"},
		{"process income definition of an expense", func() answer {
			return c.process(c.uploadID(ok), `{"country":"uk","operations":["categorisation"],"params":{"income_definition":[85,26]}}`)
		}, 400, CodeParamsMissing, "category 26 (Groceries) is an expense category", "params.income_definition"},
		{"process unknown field", func() answer {
			return c.process(c.uploadID(ok), `{"country":"uk","operations":["categorisation"],"parms":{}}`)
		}, 400, CodeParamsMissing, `unknown field "parms"`, "parms"},
		{"process not JSON", func() answer { return c.process(c.uploadID(ok), `country=uk`) },
			400, CodeParamsMissing, "not a JSON object", "body"},
		{"process unsupported country", func() answer {
			return c.process(c.uploadID(ok), `{"country":"de","operations":["categorisation"]}`)
		}, 400, CodeUnsupportedCountry, `country "de" is not supported; supported: uk`, "country"},
		{"second process", func() answer {
			id := c.uploadID(ok)
			c.processID(id)
			return c.process(id, `{"country":"uk","operations":["categorisation"]}`)
		}, 400, CodeAlreadyRequested, "already requested", ""},
		{"process with a processing id", func() answer {
			return c.process(c.processID(c.uploadID(ok)), `{"country":"uk","operations":["categorisation"]}`)
		}, 404, CodeNotFound, "is a processing request id", ""},
		{"result unknown id", func() answer { return c.result("nope") }, 404, CodeNotFound, `no processing request with id "nope"`, ""},
		{"result with an upload id", func() answer { return c.result(c.uploadID(ok)) }, 404, CodeNotFound, "is an upload id", ""},
		{"category tree of an unsupported country", func() answer { return c.do("GET", "/v2/category-tree/fr", "", nil, true) },
			400, CodeUnsupportedCountry, `country "fr" is not supported`, "country"},
		{"unknown URL", func() answer { return c.do("GET", "/v3/whatever", "", nil, true) }, 404, CodeNotFound, "no such endpoint: GET /v3/whatever", ""},
		{"wrong method", func() answer { return c.do("DELETE", "/v2/report/abc", "", nil, true) },
			405, CodeMethodNotAllowed, "use GET", ""},
		{"missing token", func() answer { return c.do("POST", "/v2/report", "", nil, false) },
			401, CodeAuthenticationFailed, "missing Authorization header", ""},
		{"forged token", func() answer {
			req, _ := http.NewRequest("GET", c.e.URL+"/v2/report/x", nil)
			req.Header.Set("Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
			return send(t, req)
		}, 401, CodeAuthenticationFailed, "not a token this service issued", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := expectError(t, tc.do(), tc.status, tc.code)
			if !strings.Contains(e.Detail, tc.detail) {
				t.Errorf("detail = %q, want it to contain %q", e.Detail, tc.detail)
			}
			if tc.source != "" && !contains(e.Source, tc.source) {
				t.Errorf("source = %q, want it to contain %q", e.Source, tc.source)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func send(t testing.TB, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b.Bytes()}
}

func TestToken_Form(t *testing.T) {
	c := startEngine(t, Config{TokenTTL: 1500 * time.Millisecond})
	form := "grant_type=client_credentials&client_id=" + c.e.ClientID + "&client_secret=" + c.e.ClientSecret +
		"&audience=" + DefaultAudience
	a := c.do("POST", "/oauth/token", "application/x-www-form-urlencoded", []byte(form), false)
	if a.status != http.StatusOK {
		t.Fatalf("form token: %d %s", a.status, a.body)
	}
	v := a.json(t)
	if v["token_type"] != "Bearer" || v["expires_in"] != float64(2) {
		t.Errorf("token answer = %v, want token_type Bearer and expires_in 2 (1.5s rounded up)", v)
	}
	c.token = v["access_token"].(string)
	if a := c.do("GET", "/v2/category-tree/uk", "", nil, true); a.status != http.StatusOK {
		t.Errorf("a form token was refused: %d %s", a.status, a.body)
	}
}

// TestToken_Expiry steps the engine's clock to the last millisecond of a
// token's lifetime, then onto its expiry.
func TestToken_Expiry(t *testing.T) {
	const ttl = 10 * time.Minute
	clock := NewManualClock(testEpoch)
	c := startEngine(t, Config{TokenTTL: ttl, Clock: clock})
	c.login()
	tree := func() answer { return c.do("GET", "/v2/category-tree/uk", "", nil, true) }

	clock.Advance(ttl - time.Millisecond)
	if a := tree(); a.status != http.StatusOK {
		t.Fatalf("1ms before its expiry the token was refused: %d %s", a.status, a.body)
	}
	clock.Advance(time.Millisecond)
	a := tree()
	e := expectError(t, a, 401, CodeAuthenticationFailed)
	if !strings.Contains(e.Detail, "expired") {
		t.Errorf("detail = %q, want it to say the token expired", e.Detail)
	}
	if a.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}

	// A new token, issued at the clock's time, is good for a whole TTL again.
	c.token = ""
	if a := tree(); a.status != http.StatusOK {
		t.Fatalf("a fresh token was refused: %d %s", a.status, a.body)
	}
	clock.Advance(ttl - time.Millisecond)
	if a := tree(); a.status != http.StatusOK {
		t.Fatalf("the fresh token expired early: %d %s", a.status, a.body)
	}
}

func TestProcessing_FailureAnswers(t *testing.T) {
	c := startEngine(t, Config{Faults: Faults{FailProcessing: 1, Seed: 7}})
	seen := map[string]bool{}
	for i := 0; i < 40 && len(seen) < 2; i++ {
		a := c.poll(c.processID(c.uploadID(exampleStatement(t))))
		switch a.status {
		case 400:
			seen[expectError(t, a, 400, CodeTimeoutProcessing).ErrorCode] = true
		case 500:
			seen[expectError(t, a, 500, CodeUnknownError).ErrorCode] = true
		default:
			t.Fatalf("a failed report answered %d: %s", a.status, a.body)
		}
	}
	if !seen[CodeTimeoutProcessing] || !seen[CodeUnknownError] {
		t.Errorf("failures seen: %v; want both TIMEOUT_PROCESSING and UNKNOWN_ERROR", seen)
	}
	if got := c.metric("ledgerform_engine_reports_total", map[string]string{"outcome": "failed"}); got < 2 {
		t.Errorf("reports failed = %v, want at least 2", got)
	}
}

// TestProcessing_StaysProcessingForProcessingTime: a report whose answer a
// worker has computed still reads as processing until the processing time
// has passed on the engine's clock, then as completed.
func TestProcessing_StaysProcessingForProcessingTime(t *testing.T) {
	const processingTime = 10 * time.Minute
	clock := NewManualClock(testEpoch)
	c := startEngine(t, Config{Clock: clock, Faults: Faults{ProcessingTime: processingTime}})
	id := c.processID(c.uploadID(exampleStatement(t)))
	running := func(want ...string) {
		t.Helper()
		a := c.result(id)
		if s := attr(t, a, "status"); a.status != 200 || !slices.Contains(want, s) {
			t.Fatalf("result at +%v: %d %s, want status %v", clock.Now().Sub(testEpoch), a.status, a.body, want)
		}
		if bytes.Contains(a.body, []byte("categorisation")) {
			t.Fatalf("a running report carries a product payload: %s", a.body)
		}
	}
	running("queued", "processing")
	c.waitComputed(id)
	running("processing")
	clock.Advance(processingTime - time.Millisecond)
	running("processing")

	clock.Advance(time.Millisecond)
	a := c.result(id)
	if s := attr(t, a, "status"); a.status != 200 || s != "completed" {
		t.Fatalf("result once the processing time is over: %d %s", a.status, a.body)
	}
	if !bytes.Contains(a.body, []byte(`"categorisation"`)) {
		t.Errorf("the completed report has no categorisation: %s", a.body)
	}
}

// TestRetention_Gone steps the engine's clock through the life of an
// upload and a result: live until the retention time, 410 GONE for as long
// again, then 404 NOT_FOUND.
func TestRetention_Gone(t *testing.T) {
	const retention = time.Hour
	clock := NewManualClock(testEpoch)
	c := startEngine(t, Config{Retention: retention, Clock: clock})
	pending := c.uploadID(exampleStatement(t))
	done := c.processID(c.uploadID(exampleStatement(t)))
	if a := c.poll(done); a.status != 200 {
		t.Fatalf("result: %d %s", a.status, a.body)
	}
	const put = `{"country":"uk","operations":["categorisation"]}`
	// A PUT without operations shows the upload is still there without
	// using up its one processing request.
	const probe = `{"country":"uk"}`

	clock.Advance(retention - time.Millisecond)
	if a := c.result(done); a.status != 200 || attr(t, a, "status") != "completed" {
		t.Fatalf("result just before the retention time: %d %s", a.status, a.body)
	}
	expectError(t, c.process(pending, probe), 400, CodeParamsMissing)

	clock.Advance(time.Millisecond)
	expectError(t, c.result(done), 410, CodeGone)
	expectError(t, c.process(pending, put), 410, CodeGone)
	// Ids of the other kind stay NOT_FOUND, expired or not
	// (docs/engine-contract.md, row 9).
	expectError(t, c.result(pending), 404, CodeNotFound)
	expectError(t, c.process(done, put), 404, CodeNotFound)

	clock.Advance(retention - time.Millisecond)
	expectError(t, c.result(done), 410, CodeGone)
	expectError(t, c.process(pending, put), 410, CodeGone)

	clock.Advance(time.Millisecond)
	expectError(t, c.result(done), 404, CodeNotFound)
	expectError(t, c.process(pending, put), 404, CodeNotFound)
}

// TestRetention_SweepFrees: the sweeper, not only a lookup, drops expired
// records and then forgets their ids, so nothing grows.
func TestRetention_SweepFrees(t *testing.T) {
	const retention = time.Hour
	clock := NewManualClock(testEpoch)
	c := startEngine(t, Config{Retention: retention, Clock: clock})
	c.uploadID(exampleStatement(t))
	done := c.processID(c.uploadID(exampleStatement(t)))
	c.poll(done)
	st := c.e.srv.store
	gone := func() int {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.gone)
	}
	check := func(wantRecords, wantGone int) {
		t.Helper()
		st.sweep(clock.Now())
		if n, _ := st.usage(); n != wantRecords {
			t.Errorf("at +%v: %d records, want %d", clock.Now().Sub(testEpoch), n, wantRecords)
		}
		if g := gone(); g != wantGone {
			t.Errorf("at +%v: %d expired ids remembered, want %d", clock.Now().Sub(testEpoch), g, wantGone)
		}
	}

	clock.Advance(retention - time.Millisecond)
	check(3, 0) // two uploads and a report
	clock.Advance(time.Millisecond)
	check(0, 3)
	if _, b := st.usage(); b != 0 {
		t.Errorf("%d bytes held after every record expired", b)
	}
	clock.Advance(retention - time.Millisecond)
	check(0, 3)
	clock.Advance(time.Millisecond)
	check(0, 0)
}

// TestSweeper_ReadsTheClock: the running sweeper frees records by the
// engine's clock. The clock stands far from the wall clock, so a sweeper
// reading the wall clock would free nothing and the wait would time out.
func TestSweeper_ReadsTheClock(t *testing.T) {
	// A retention of 40ms makes the sweeper wake every 10ms of real time.
	const retention = 40 * time.Millisecond
	clock := NewManualClock(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	c := startEngine(t, Config{Retention: retention, Clock: clock})
	c.uploadID(exampleStatement(t))
	st := c.e.srv.store
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("the sweeper never %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	clock.Advance(retention)
	waitFor("freed the expired upload", func() bool { n, b := st.usage(); return n == 0 && b == 0 })
	clock.Advance(retention)
	waitFor("forgot the expired id", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.gone) == 0
	})
}

func TestQuota_ExceededLimit(t *testing.T) {
	c := startEngine(t, Config{MaxRecords: 2})
	c.uploadID(exampleStatement(t))
	c.uploadID(exampleStatement(t))
	e := expectError(t, c.upload(exampleStatement(t)), 400, CodeExceededLimit)
	if !strings.Contains(e.Detail, "2 records") {
		t.Errorf("detail = %q, want the quota named", e.Detail)
	}
}

func TestRateLimit(t *testing.T) {
	c := startEngine(t, Config{Faults: Faults{RateLimit: 1}})
	c.login()
	first := c.do("GET", "/v2/category-tree/uk", "", nil, true)
	if first.status != 200 {
		t.Fatalf("first request: %d %s", first.status, first.body)
	}
	a := c.do("GET", "/v2/category-tree/uk", "", nil, true)
	expectError(t, a, 429, CodeRateLimit)
	if ra := a.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After = %q, want 1", ra)
	}
}

func TestInjectedFaults(t *testing.T) {
	for _, tc := range []struct {
		faults Faults
		status int
		code   string
		oauth  string // the same fault at the token endpoint
	}{
		{Faults{Fail429: 1, RetryAfter: 3 * time.Second}, 429, CodeRateLimit, "temporarily_unavailable"},
		{Faults{Fail500: 1}, 500, CodeUnknownError, "server_error"},
		{Faults{Fail503: 1}, 503, CodeServiceUnavailable, "temporarily_unavailable"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			c := startEngine(t, Config{Faults: tc.faults})
			expectError(t, c.do("GET", "/v2/category-tree/uk", "", nil, false), tc.status, tc.code)
			a := c.tokenRequest(c.e.ClientID, c.e.ClientSecret)
			expectOAuthError(t, a, tc.status, tc.oauth)
			if tc.status == 429 && a.header.Get("Retry-After") != "3" {
				t.Errorf("Retry-After = %q, want 3", a.header.Get("Retry-After"))
			}
			if got := c.metric("ledgerform_engine_requests_total", map[string]string{"endpoint": "token", "code": fmt.Sprint(tc.status)}); got != 1 {
				t.Errorf("requests_total{token,%d} = %v, want 1", tc.status, got)
			}
		})
	}
}

func TestInjectedFaults_Reset(t *testing.T) {
	c := startEngine(t, Config{Faults: Faults{ResetRate: 1, Seed: 3}})
	for i := 0; i < 10; i++ {
		body, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": c.e.ClientID,
			"client_secret": c.e.ClientSecret, "audience": DefaultAudience})
		resp, err := c.http.Post(c.e.URL+"/oauth/token", "application/json", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("request %d answered %d; every connection should be closed", i, resp.StatusCode)
		}
	}
	if got := c.metric("ledgerform_engine_requests_total", map[string]string{"endpoint": "token", "code": "reset"}); got < 10 {
		t.Errorf("resets counted = %v, want at least 10", got)
	}

	// Uploads: a reset before the work stores nothing, a reset after it
	// stores the upload and loses the answer. Both happen.
	c.token = c.e.srv.issueToken(c.e.srv.cfg.Clock.Now())
	ct, body := multipartBody("input", exampleStatement(t))
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest("POST", c.e.URL+"/v2/report", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+c.token)
		if resp, err := c.http.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("upload %d answered %d; every connection should be closed", i, resp.StatusCode)
		}
	}
	if n, _ := c.e.srv.store.usage(); n == 0 || n == 20 {
		t.Errorf("%d of 20 reset uploads were stored; want some (reset after the work) and not all (reset before)", n)
	}
}

// TestProcess_ConcurrentPUT: of many simultaneous PUTs on one upload exactly
// one is accepted.
func TestProcess_ConcurrentPUT(t *testing.T) {
	c := startEngine(t, Config{})
	id := c.uploadID(exampleStatement(t))
	c.login()
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			a := c.process(id, `{"country":"uk","operations":["categorisation"]}`)
			mu.Lock()
			codes[a.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[202] != 1 || codes[400] != 15 {
		t.Errorf("answers by status = %v, want one 202 and fifteen 400", codes)
	}
}

func TestMetrics_CountRequests(t *testing.T) {
	c := startEngine(t, Config{})
	id := c.processID(c.uploadID(exampleStatement(t)))
	c.poll(id)
	c.result(id)
	c.result("nope")
	for _, tc := range []struct {
		endpoint, code string
		min, max       float64
	}{
		{"token", "200", 1, 1},
		{"upload", "202", 1, 1},
		{"process", "202", 1, 1},
		{"result", "200", 2, 1e9},
		{"result", "404", 1, 1},
	} {
		got := c.metric("ledgerform_engine_requests_total", map[string]string{"endpoint": tc.endpoint, "code": tc.code})
		if got < tc.min || got > tc.max {
			t.Errorf("requests_total{%s,%s} = %v, want in [%v, %v]", tc.endpoint, tc.code, got, tc.min, tc.max)
		}
	}
	if got := c.metric("ledgerform_engine_reports_total", map[string]string{"outcome": "completed"}); got != 1 {
		t.Errorf("reports completed = %v, want 1", got)
	}
	// /metrics itself is not an API endpoint and is not counted.
	if bytes.Contains(c.do("GET", "/metrics", "", nil, false).body, []byte(`endpoint="metrics"`)) {
		t.Error("/metrics counts itself")
	}
}

func TestCategoryTree(t *testing.T) {
	c := startEngine(t, Config{})
	a := c.do("GET", "/v2/category-tree/UK", "", nil, true)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var body struct {
		Data struct {
			Attributes struct {
				Categories []struct {
					ID       int    `json:"id"`
					Level    int    `json:"level"`
					ParentID *int   `json:"parent_id"`
					Title    string `json:"readable_title"`
					Type     string `json:"type"`
				} `json:"categories"`
				Version string `json:"category_tree_version"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatal(err)
	}
	byID := map[int]int{}
	for i, cat := range body.Data.Attributes.Categories {
		byID[cat.ID] = i
		if (cat.ParentID == nil) != (cat.Level == 0) {
			t.Errorf("category %d: level %d with parent %v", cat.ID, cat.Level, cat.ParentID)
		}
	}
	for id, want := range map[int]string{85: "Salary income", 26: "Groceries expense", 5239: "Loan bank expense", 117: "Other loans income"} {
		i, ok := byID[id]
		if !ok {
			t.Errorf("category %d missing", id)
			continue
		}
		cat := body.Data.Attributes.Categories[i]
		if got := cat.Title + " " + cat.Type; got != want {
			t.Errorf("category %d = %q, want %q", id, got, want)
		}
	}
	if body.Data.Attributes.Version != "uk_202611230000" {
		t.Errorf("version = %q", body.Data.Attributes.Version)
	}
}

// TestUpload_MultiCurrencyAccount: entries of one account number in two
// currencies are one account with two currencies.
func TestUpload_MultiCurrencyAccount(t *testing.T) {
	c := startEngine(t, Config{})
	st := `{"account_list":[
	  {"account_nr":"X1","holder_name":"Priya Patel & Sam Patel","currency":"GBP","start_balance":10,
	   "transaction_list":[{"date":"2026-01-02","sum":-2.5,"partner":"Tesco"}]},
	  {"account_nr":"X1","holder_name":"Priya Patel & Sam Patel","currency":"eur",
	   "transaction_list":[{"date":"2026-01-05","sum":7,"info":"ALQUILER"}]}]}`
	a := c.poll(c.processID(c.uploadID(file{"joint.json", []byte(st)})))
	var body struct {
		Data struct {
			Attributes struct {
				Categorisation Categorisation `json:"categorisation"`
			} `json:"attributes"`
		} `json:"data"`
	}
	json.Unmarshal(a.body, &body)
	accs := body.Data.Attributes.Categorisation.Accounts
	if len(accs) != 1 || len(accs[0].Currencies) != 2 {
		t.Fatalf("want one account with two currencies:\n%s", a.body)
	}
	acc := accs[0]
	if acc.IsJointOwnership == nil || !*acc.IsJointOwnership || len(acc.Holders) != 2 {
		t.Errorf("joint = %v, holders = %d; want joint with two holders", acc.IsJointOwnership, len(acc.Holders))
	}
	gbp, eur := acc.Currencies[0], acc.Currencies[1]
	if got, want := fmt.Sprint(*gbp.Code, " ", *gbp.EndBalance, " ", *eur.Code, " ", eur.CreditTurnover, " ", eur.EndBalance), "GBP 7.50 EUR 7.00 <nil>"; got != want {
		t.Errorf("currencies = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(acc.PeriodStart, " ", acc.PeriodEnd), "2026-01-02 2026-01-05"; got != want {
		t.Errorf("period = %s, want %s (the transactions' dates)", got, want)
	}
}

// TestLogs_NoSecrets: request logs never carry the secret or a token.
func TestLogs_NoSecrets(t *testing.T) {
	var logs testutil.SyncBuffer
	c := startEngine(t, Config{ClientID: "client-1", ClientSecret: "s3cr3t-value",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	c.poll(c.processID(c.uploadID(exampleStatement(t))))
	c.tokenRequest("client-1", "wrong-s3cr3t")
	out := logs.String()
	if !strings.Contains(out, "endpoint=upload") {
		t.Fatalf("no request lines logged:\n%s", out)
	}
	for _, secret := range []string{"s3cr3t", c.token, "Bearer"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}
