package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/ledgerform/ledgerform/engine/categorise"
	"github.com/ledgerform/ledgerform/engine/statement"
)

// maxFiles bounds the files of one upload.
const maxFiles = 1000

// links are the relationship links of an answer.
type links struct {
	Related string `json:"related"`
	Self    string `json:"self"`
}

type relationship struct {
	Links links `json:"links"`
}

// recordAttributes are the attributes of an upload's or a processing
// request's record.
type recordAttributes struct {
	AvailableOperations []string `json:"available-operations,omitempty"`
	RequestID           string   `json:"request-id"`
	Status              string   `json:"status"`
}

// writeRecord answers 202 with a record: its attributes and one link.
func writeRecord(w http.ResponseWriter, typ string, attrs recordAttributes, rel string, l links) {
	writeJSON(w, http.StatusAccepted, map[string]any{"data": struct {
		Attributes    recordAttributes        `json:"attributes"`
		Relationships map[string]relationship `json:"relationships"`
		Type          string                  `json:"type"`
	}{attrs, map[string]relationship{rel: {Links: l}}, typ}})
}

// baseURL is the scheme and host the request was sent to, so that links in
// answers are absolute URLs a client can follow.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// upload answers POST /v2/report.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) *apiError {
	files, aerr := s.readFiles(w, r)
	if aerr != nil {
		return aerr
	}
	stmt, err := statement.Parse(files)
	if err != nil {
		var pe *statement.ParseError
		if errors.As(err, &pe) && pe.Kind == statement.PDF {
			return fail(http.StatusBadRequest, CodePDFParseFailure, err.Error(), "input")
		}
		return fail(http.StatusBadRequest, CodeNoSuitableParsers, err.Error(), "input")
	}
	var size int64
	for _, f := range files {
		size += int64(len(f.Data))
	}
	u := &upload{id: newID(), expires: s.cfg.Clock.Now().Add(s.cfg.Retention), size: size, stmt: stmt}
	if !s.store.addUpload(u, s.cfg.MaxRecords, s.cfg.MaxStoredBytes) {
		return fail(http.StatusBadRequest, CodeExceededLimit,
			fmt.Sprintf("the engine holds as many uploads and reports as its quota allows (%d records, %d bytes); wait for older ones to expire",
				s.cfg.MaxRecords, s.cfg.MaxStoredBytes))
	}
	base := baseURL(r)
	writeRecord(w, "report pre-processing record", recordAttributes{AvailableOperations: operations, RequestID: u.id, Status: "completed"},
		"operations", links{Related: base + "/v2/report/process/" + u.id, Self: base + "/v2/report"})
	return nil
}

// readFiles reads the "input" parts of a multipart upload, refusing more
// than MaxUploadBytes of files in total.
func (s *Server) readFiles(w http.ResponseWriter, r *http.Request) ([]statement.File, *apiError) {
	missing := func(detail string) *apiError {
		return fail(http.StatusBadRequest, CodeParamsMissing, detail, "input")
	}
	limit := s.cfg.MaxUploadBytes
	tooLarge := func() *apiError {
		return fail(http.StatusRequestEntityTooLarge, CodeRequestTooLarge,
			fmt.Sprintf("the files of one upload may total at most %d bytes (%d MiB)", limit, limit>>20), "input")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, missing("send the statement files as multipart/form-data in the field \"input\"")
	}
	// The multipart framing may add to the files' size; 1 MiB is ample.
	r.Body = http.MaxBytesReader(w, r.Body, limit+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, missing("the body is not multipart/form-data: " + err.Error())
	}
	var files []statement.File
	var total int64
	for parts := 0; ; parts++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		if err != nil {
			return nil, missing("the multipart body does not parse: " + err.Error())
		}
		if parts >= maxFiles {
			return nil, fail(http.StatusRequestEntityTooLarge, CodeRequestTooLarge,
				fmt.Sprintf("more than %d parts in one upload", maxFiles), "input")
		}
		if p.FormName() != "input" {
			io.Copy(io.Discard, p)
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p, limit-total+1))
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		if err != nil {
			return nil, missing("reading the upload: " + err.Error())
		}
		total += int64(len(data))
		if total > limit {
			return nil, tooLarge()
		}
		name := p.FileName()
		if name == "" {
			name = fmt.Sprintf("input #%d", len(files)+1)
		}
		files = append(files, statement.File{Name: fmt.Sprintf("file %q", name), Data: data})
	}
	if len(files) == 0 {
		return nil, missing("no file in the field \"input\"")
	}
	return files, nil
}

// operations are the five documented operation keywords, sorted.
var operations = []string{"categorisation", "insights-income", "insights-loans", "insights-risk", "simple-score"}

// processRequest is the body of PUT /v2/report/process/{id}, validated.
type processRequest struct {
	Country    string
	Operations []string // sorted, without duplicates
	Params     params
}

// params are the insights parameters (docs/engine-contract.md, row 6).
//
// The engine declares its own wire types, here and throughout, instead of
// sharing the client's (api.ProcessRequest and the report.Params it
// carries). That is on purpose: the engine is an independent
// implementation of the protocol, so a bug in one shared struct cannot hide
// itself by making both sides agree; the client's tests against the engine
// would pass while the real service refused the request.
type params struct {
	Period             *int     `json:"period,omitempty"`
	Currency           *string  `json:"currency,omitempty"`
	DropSharedAccounts *bool    `json:"drop_shared_accounts,omitempty"`
	DropJointAccounts  *bool    `json:"drop_joint_accounts,omitempty"`
	IncomeDefinition   []int    `json:"income_definition,omitempty"`
	ExpenseDefinition  []int    `json:"expense_definition,omitempty"`
	unknown            []string // keys that are none of the above
}

// process answers PUT /v2/report/process/{id}.
func (s *Server) process(w http.ResponseWriter, r *http.Request) *apiError {
	id := r.PathValue("id")
	now := s.cfg.Clock.Now()
	s.store.mu.Lock()
	kind, u, _ := s.store.find(id, now)
	requested := u != nil && u.report != ""
	var stmt *statement.Statement
	if u != nil {
		stmt = u.stmt
	}
	s.store.mu.Unlock()
	switch kind {
	case isGoneUpload:
		return fail(http.StatusGone, CodeGone, fmt.Sprintf("upload %s has expired; upload the statement again", id))
	case isReport, isGone:
		return fail(http.StatusNotFound, CodeNotFound,
			fmt.Sprintf("%s is a processing request id; PUT takes the request-id returned by POST /v2/report", id))
	case unknownID:
		return fail(http.StatusNotFound, CodeNotFound, fmt.Sprintf("no upload with request id %q", id))
	}
	if requested {
		return alreadyRequested(id)
	}
	req, aerr := s.parseProcess(r)
	if aerr != nil {
		return aerr
	}
	if stmt != nil {
		if aerr := checkAnalytics(stmt, req); aerr != nil {
			return aerr
		}
	}

	rep := &report{id: newID(), uploadID: id, expires: now.Add(s.cfg.Retention), req: req}
	s.store.mu.Lock()
	if u.report != "" { // another PUT won the race
		s.store.mu.Unlock()
		return alreadyRequested(id)
	}
	select {
	case s.queue <- rep:
	default:
		s.store.mu.Unlock()
		return fail(http.StatusServiceUnavailable, CodeServiceUnavailable, "the processing queue is full; try again later")
	}
	rep.stmt, u.stmt, u.report = u.stmt, nil, rep.id
	s.store.reports[rep.id] = rep
	s.store.mu.Unlock()
	s.metrics.reports.WithLabelValues("queued").Inc()

	base := baseURL(r)
	writeRecord(w, "report processing record", recordAttributes{RequestID: rep.id, Status: "queued"},
		"result", links{Related: base + "/v2/report/" + rep.id, Self: base + "/v2/report/process/" + id})
	return nil
}

func alreadyRequested(id string) *apiError {
	return fail(http.StatusBadRequest, CodeAlreadyRequested,
		fmt.Sprintf("operations were already requested for upload %s; upload the statement again to request others", id))
}

// parseProcess reads and validates the body of a processing request.
func (s *Server) parseProcess(r *http.Request) (processRequest, *apiError) {
	var req processRequest
	bad := func(field, format string, args ...any) (processRequest, *apiError) {
		return req, fail(http.StatusBadRequest, CodeParamsMissing, fmt.Sprintf(format, args...), field)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return bad("body", "reading the body: %v", err)
	}
	if len(body) > 1<<20 {
		return bad("body", "the body is larger than 1 MiB")
	}
	var raw map[string]json.RawMessage
	if err := strictJSON(body, &raw); err != nil || raw == nil {
		return bad("body", "the body is not a JSON object with country and operations: %v", jsonProblem(err))
	}
	for k := range raw {
		switch k {
		case "country", "operations", "params", "use_webhook":
		default:
			return bad(k, "unknown field %q; the fields are country, operations, params and use_webhook", k)
		}
	}

	var ops []string
	switch v, ok := raw["operations"]; {
	case !ok || isNull(v):
		return bad("operations", "missing operations: an array of %s", strings.Join(operations, ", "))
	case json.Unmarshal(v, &ops) != nil:
		return bad("operations", "operations must be an array of strings")
	case len(ops) == 0:
		return bad("operations", "operations is empty; name at least one of %s", strings.Join(operations, ", "))
	}
	slices.Sort(ops)
	ops = slices.Compact(ops)
	for _, op := range ops {
		switch {
		case op == "features" || op == "credit-scores":
			return req, fail(http.StatusForbidden, CodeForbidden,
				fmt.Sprintf("operation %q is an enterprise credit-scoring product this engine does not offer", op), "operations")
		case !slices.Contains(operations, op):
			return bad("operations", "unknown operation %q; the operations are %s", op, strings.Join(operations, ", "))
		}
	}
	req.Operations = ops

	var country string
	switch v, ok := raw["country"]; {
	case !ok || isNull(v):
		return bad("country", "missing country, e.g. \"uk\"")
	case json.Unmarshal(v, &country) != nil:
		return bad("country", "country must be a string, e.g. \"uk\"")
	}
	req.Country = strings.ToLower(country)
	cat := s.cats[req.Country]
	if cat == nil {
		return req, fail(http.StatusBadRequest, CodeUnsupportedCountry,
			fmt.Sprintf("country %q is not supported; supported: %s", country, strings.Join(s.cfg.Countries, ", ")), "country")
	}

	if v, ok := raw["use_webhook"]; ok && !isNull(v) {
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return bad("use_webhook", "use_webhook must be true or false")
		}
	}
	if v, ok := raw["params"]; ok && !isNull(v) {
		p, aerr := parseParams(v, cat.Tree())
		if aerr != nil {
			return req, aerr
		}
		req.Params = p
	}
	return req, nil
}

// parseParams validates the params object (docs/engine-contract.md, row 6).
func parseParams(v json.RawMessage, tree *categorise.Tree) (params, *apiError) {
	var p params
	bad := func(field, format string, args ...any) (params, *apiError) {
		return p, fail(http.StatusBadRequest, CodeParamsMissing, fmt.Sprintf(format, args...), "params."+field)
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(v, &raw) != nil {
		return p, fail(http.StatusBadRequest, CodeParamsMissing, "params must be an object", "params")
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		if isNull(v) {
			continue
		}
		switch k {
		case "period":
			var n int
			if json.Unmarshal(v, &n) != nil || n < 1 || n > 1200 {
				return bad(k, "period must be a whole number of calendar months from 1 to 1200")
			}
			p.Period = &n
		case "currency":
			var c string
			if json.Unmarshal(v, &c) != nil || len(c) != 3 || strings.Trim(strings.ToUpper(c), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
				return bad(k, "currency must be a three-letter ISO 4217 code such as \"GBP\"")
			}
			c = strings.ToUpper(c)
			p.Currency = &c
		case "drop_shared_accounts", "drop_joint_accounts":
			var b bool
			if json.Unmarshal(v, &b) != nil {
				return bad(k, "%s must be true or false", k)
			}
			if k == "drop_shared_accounts" {
				p.DropSharedAccounts = &b
			} else {
				p.DropJointAccounts = &b
			}
		case "income_definition", "expense_definition":
			want := categorise.Income
			if k == "expense_definition" {
				want = categorise.Expense
			}
			var ids []int
			if json.Unmarshal(v, &ids) != nil {
				return bad(k, "%s must be an array of category ids (integers)", k)
			}
			for _, id := range ids {
				c, ok := tree.Lookup(id)
				if !ok {
					return bad(k, "%s: category %d is not in tree %s", k, id, tree.Version)
				}
				if c.Type != want {
					return bad(k, "%s: category %d (%s) is an %s category", k, id, c.Title, c.Type)
				}
			}
			slices.Sort(ids)
			if k == "income_definition" {
				p.IncomeDefinition = slices.Compact(ids)
			} else {
				p.ExpenseDefinition = slices.Compact(ids)
			}
		default:
			p.unknown = append(p.unknown, k)
		}
	}
	if len(p.unknown) > 0 {
		src := make([]string, len(p.unknown))
		for i, k := range p.unknown {
			src[i] = "params." + k
		}
		return p, fail(http.StatusBadRequest, CodeParamsMissing,
			fmt.Sprintf("unknown params %s; the params are period, currency, drop_shared_accounts, drop_joint_accounts, income_definition and expense_definition",
				strings.Join(p.unknown, ", ")), src...)
	}
	return p, nil
}

// strictJSON decodes exactly one JSON value.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

func jsonProblem(err error) string {
	if err == nil {
		return "it is null"
	}
	return err.Error()
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// result answers GET /v2/report/{id}.
func (s *Server) result(w http.ResponseWriter, r *http.Request) *apiError {
	id := r.PathValue("id")
	now := s.cfg.Clock.Now()
	s.store.mu.Lock()
	kind, _, rep := s.store.find(id, now)
	var ph phase
	var body []byte
	var failure *apiError
	if rep != nil {
		ph, body, failure = rep.phase, rep.body, rep.failure
		if ph == done && now.Before(rep.readyAt) {
			ph = processing
		}
	}
	s.store.mu.Unlock()
	switch kind {
	case isGone:
		return fail(http.StatusGone, CodeGone, fmt.Sprintf("the result of %s has expired; upload the statement again", id))
	case isUpload, isGoneUpload:
		return fail(http.StatusNotFound, CodeNotFound,
			fmt.Sprintf("%s is an upload id; GET takes the request-id returned by PUT /v2/report/process/%s", id, id))
	case unknownID:
		return fail(http.StatusNotFound, CodeNotFound, fmt.Sprintf("no processing request with id %q", id))
	}
	switch {
	case ph == done && failure != nil:
		return failure
	case ph == done:
		writeBody(w, http.StatusOK, body)
		return nil
	}
	status := "queued"
	if ph == processing {
		status = "processing"
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"attributes": map[string]string{"status": status},
		"type":       "report processing status",
	}})
	return nil
}

// categoryTree answers GET /v2/category-tree/{country}.
func (s *Server) categoryTree(w http.ResponseWriter, r *http.Request) *apiError {
	country := r.PathValue("country")
	body, ok := s.trees[strings.ToLower(country)]
	if !ok {
		return fail(http.StatusBadRequest, CodeUnsupportedCountry,
			fmt.Sprintf("country %q is not supported; supported: %s", country, strings.Join(s.cfg.Countries, ", ")), "country")
	}
	writeBody(w, http.StatusOK, body)
	return nil
}

// renderTree renders the answer of the category-tree endpoint once.
func renderTree(t *categorise.Tree) []byte {
	type category struct {
		ID            int             `json:"id"`
		Level         int             `json:"level"`
		ParentID      *int            `json:"parent_id"`
		ReadableTitle string          `json:"readable_title"`
		Type          categorise.Type `json:"type"`
	}
	cats := make([]category, 0, len(t.Categories()))
	for _, c := range t.Categories() {
		cc := category{ID: c.ID, Level: c.Level, ReadableTitle: c.Title, Type: c.Type}
		if c.ParentID != 0 {
			pid := c.ParentID
			cc.ParentID = &pid
		}
		cats = append(cats, cc)
	}
	body, err := json.Marshal(map[string]any{"data": map[string]any{
		"attributes": map[string]any{"categories": cats, "category_tree_version": t.Version},
		"type":       "category tree",
	}})
	if err != nil {
		panic(err)
	}
	return body
}
