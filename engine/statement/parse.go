package statement

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrorKind classifies why a file is not a statement, for the API's error
// codes: a PDF is PDF_PARSE_FAILURE, everything else NO_SUITABLE_PARSERS.
type ErrorKind int

// The kinds of a parse error.
const (
	NotStatement ErrorKind = iota // valid JSON, but not the statement format
	NotJSON
	NotUTF8
	PDF
)

// A ParseError says why a file is not a statement. Its message names the
// file and, for a format error, the first bad field by its JSON path
// ("account_list[0].transaction_list[3].date").
type ParseError struct {
	File string
	Kind ErrorKind
	Path string // the bad field; empty unless Kind is NotStatement
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("%s: %s: %s", e.File, e.Path, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Parse parses the files of one upload, in order, into one statement.
func Parse(files []File) (*Statement, error) {
	st := &Statement{}
	for _, f := range files {
		accounts, err := parseFile(f.Name, f.Data)
		if err != nil {
			return nil, err
		}
		st.Accounts = append(st.Accounts, accounts...)
	}
	st.detectOwnership()
	return st, nil
}

// A File is one uploaded file.
type File struct {
	Name string
	Data []byte
}

// The statement is decoded in one pass into the types below (the fast
// path). Only when that fails on a wrong type is it decoded again element
// by element (the *Slow types), so that the error can name the element by
// its index: encoding/json names fields but not indices.

type rawStatement struct {
	AccountList *[]rawAccount `json:"account_list"`
}

type rawStatementSlow struct {
	AccountList *[]json.RawMessage `json:"account_list"`
}

// accountFields are the fields of an account other than its transactions.
type accountFields struct {
	AccountNr    *string         `json:"account_nr"`
	HolderName   *string         `json:"holder_name"`
	HolderID     *string         `json:"holder_id"`
	BankName     *string         `json:"bank_name"`
	Currency     *string         `json:"currency"`
	StartBalance json.RawMessage `json:"start_balance"`
	EndBalance   json.RawMessage `json:"end_balance"`
	PeriodStart  *string         `json:"period_start"`
	PeriodEnd    *string         `json:"period_end"`
}

type rawAccount struct {
	accountFields
	TransactionList *[]rawTransaction `json:"transaction_list"`
}

type rawAccountSlow struct {
	accountFields
	TransactionList *[]json.RawMessage `json:"transaction_list"`
}

type rawTransaction struct {
	Date          *string         `json:"date"`
	Sum           json.RawMessage `json:"sum"`
	Partner       *string         `json:"partner"`
	Info          *string         `json:"info"`
	TransactionID *string         `json:"transaction_id"`
}

// accountPath and transactionPath spell where a field is, only when an
// error needs it.
func accountPath(i int) string { return "account_list[" + strconv.Itoa(i) + "]" }

func transactionPath(i, j int) string {
	return accountPath(i) + ".transaction_list[" + strconv.Itoa(j) + "]"
}

func parseFile(name string, data []byte) ([]*Account, error) {
	fail := func(kind ErrorKind, path, format string, args ...any) error {
		return &ParseError{File: name, Kind: kind, Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("%PDF-")) {
		return nil, fail(PDF, "", "a PDF statement; this engine reads statements in the Nordigen JSON format only")
	}
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return nil, fail(NotUTF8, "", "UTF-16 text; statements must be UTF-8")
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(data) {
		off := invalidUTF8(data)
		line, col := position(data, off)
		return nil, fail(NotUTF8, "", "not UTF-8: invalid byte 0x%02X at line %d, column %d", data[off], line, col)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fail(NotJSON, "", "the file is empty")
	}
	var root rawStatement
	if err := json.Unmarshal(data, &root); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			// Offset counts the bytes read, the bad one included.
			line, col := position(data, max(int(syn.Offset)-1, 0))
			return nil, fail(NotJSON, "", "not JSON: %s at line %d, column %d", syn.Error(), line, col)
		}
		perr := locateTypeError(data, err)
		perr.File = name
		return nil, perr
	}
	accounts, perr := decode(&root)
	if perr != nil {
		perr.File = name
		return nil, perr
	}
	for _, a := range accounts {
		a.File = name
	}
	return accounts, nil
}

// decode converts a decoded statement into accounts.
func decode(root *rawStatement) ([]*Account, *ParseError) {
	if root.AccountList == nil {
		return nil, &ParseError{Path: "account_list", Msg: "missing; a statement is an object with an account_list"}
	}
	if len(*root.AccountList) == 0 {
		return nil, &ParseError{Path: "account_list", Msg: "empty; a statement needs at least one account"}
	}
	accounts := make([]*Account, 0, len(*root.AccountList))
	for i := range *root.AccountList {
		ra := &(*root.AccountList)[i]
		a, err := convertAccount(&ra.accountFields, i)
		if err != nil {
			return nil, err
		}
		if ra.TransactionList == nil {
			return nil, &ParseError{Path: accountPath(i) + ".transaction_list", Msg: "missing; every account needs a transaction_list (it may be empty)"}
		}
		a.Transactions = make([]Transaction, len(*ra.TransactionList))
		for j := range *ra.TransactionList {
			if err := convertTransaction(&(*ra.TransactionList)[j], &a.Transactions[j], i, j); err != nil {
				return nil, err
			}
		}
		a.Index = i
		accounts = append(accounts, a)
	}
	return accounts, nil
}

// locateTypeError decodes data element by element to find the one with a
// field of the wrong type, which the one-pass decoding could not name.
func locateTypeError(data []byte, err error) *ParseError {
	var root rawStatementSlow
	if err := json.Unmarshal(data, &root); err != nil {
		path := typePath("", err)
		if path == "" {
			path = "the top level"
		}
		return &ParseError{Path: path, Msg: typeMsg(err)}
	}
	if root.AccountList != nil {
		for i, raw := range *root.AccountList {
			var ra rawAccountSlow
			if err := json.Unmarshal(raw, &ra); err != nil {
				return &ParseError{Path: typePath(accountPath(i), err), Msg: typeMsg(err)}
			}
			if ra.TransactionList == nil {
				continue
			}
			for j, rawT := range *ra.TransactionList {
				var rt rawTransaction
				if err := json.Unmarshal(rawT, &rt); err != nil {
					return &ParseError{Path: typePath(transactionPath(i, j), err), Msg: typeMsg(err)}
				}
			}
		}
	}
	// Not found again (it cannot happen): say what encoding/json said.
	return &ParseError{Path: typePath("", err), Msg: typeMsg(err)}
}

func convertAccount(ra *accountFields, i int) (*Account, *ParseError) {
	a := &Account{Number: ra.AccountNr, HolderName: ra.HolderName, HolderID: ra.HolderID, Bank: ra.BankName}
	var err *ParseError
	if ra.Currency != nil {
		c := strings.ToUpper(*ra.Currency)
		if len(c) != 3 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return nil, &ParseError{Path: accountPath(i) + ".currency", Msg: fmt.Sprintf("%q is not a three-letter ISO 4217 code", *ra.Currency)}
		}
		a.Currency = &c
	}
	if a.StartBalance, err = optMoney(ra.StartBalance); err != nil {
		err.Path = accountPath(i) + ".start_balance"
		return nil, err
	}
	if a.EndBalance, err = optMoney(ra.EndBalance); err != nil {
		err.Path = accountPath(i) + ".end_balance"
		return nil, err
	}
	if a.PeriodStart, err = optDate(ra.PeriodStart, accountPath(i)+".period_start"); err != nil {
		return nil, err
	}
	if a.PeriodEnd, err = optDate(ra.PeriodEnd, accountPath(i)+".period_end"); err != nil {
		return nil, err
	}
	if a.PeriodStart != nil && a.PeriodEnd != nil && *a.PeriodEnd < *a.PeriodStart {
		return nil, &ParseError{Path: accountPath(i) + ".period_end", Msg: fmt.Sprintf("%s is before period_start %s", *a.PeriodEnd, *a.PeriodStart)}
	}
	return a, nil
}

func convertTransaction(rt *rawTransaction, t *Transaction, i, j int) *ParseError {
	if rt.Date == nil {
		return &ParseError{Path: transactionPath(i, j) + ".date", Msg: "missing; every transaction needs a YYYY-MM-DD date"}
	}
	d, derr := ParseDate(*rt.Date)
	if derr != nil {
		return &ParseError{Path: transactionPath(i, j) + ".date", Msg: derr.Error()}
	}
	t.Date = d
	m, err := optMoney(rt.Sum)
	if err != nil {
		err.Path = transactionPath(i, j) + ".sum"
		return err
	}
	if m == nil {
		return &ParseError{Path: transactionPath(i, j) + ".sum", Msg: "missing; every transaction needs a sum (a number, negative for money out)"}
	}
	t.Amount = *m
	if rt.Partner != nil {
		t.Partner = *rt.Partner
	}
	if rt.Info != nil {
		t.Info = *rt.Info
	}
	t.TransactionID = rt.TransactionID
	return nil
}

// optMoney parses an optional JSON number; null or absent gives nil. The
// error it returns has no Path: the caller knows it.
func optMoney(raw json.RawMessage) (*Money, *ParseError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return nil, &ParseError{Msg: fmt.Sprintf("%s is not a number", clip(string(raw)))}
	}
	m, ok := decimalCents(raw)
	if !ok {
		// An exponent, or too many digits: go through a float.
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(f, 0) || math.Abs(f)*100 > maxAmount {
			return nil, &ParseError{Msg: fmt.Sprintf("%s is out of range (at most ±100,000,000,000)", clip(string(raw)))}
		}
		m = cents(f)
	}
	return &m, nil
}

// decimalCents reads a JSON number written as [-]digits[.digits] into
// cents, rounding half away from zero on the digits as written (1.005 is
// 1.01). It reports false for an exponent or an amount beyond the bound.
func decimalCents(b []byte) (Money, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var whole int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if whole > maxAmount/100 {
			return 0, false
		}
		whole = whole*10 + int64(b[i]-'0')
	}
	var frac [3]int64
	if i < len(b) && b[i] == '.' {
		i++
		for k := 0; i < len(b) && b[i] >= '0' && b[i] <= '9'; i, k = i+1, k+1 {
			if k < 3 {
				frac[k] = int64(b[i] - '0')
			}
		}
	}
	if i != len(b) {
		return 0, false // an exponent
	}
	c := whole*100 + frac[0]*10 + frac[1]
	if frac[2] >= 5 {
		c++
	}
	if c > maxAmount {
		return 0, false
	}
	if neg {
		c = -c
	}
	return Money(c), true
}

// cents rounds f to cents, half away from zero, as its shortest decimal
// ("1.005"): math.Round(f*100) would round 1.005 down, that float being
// 1.00499999999999989…. f must be within ±maxAmount cents.
func cents(f float64) Money {
	m, ok := decimalCents([]byte(strconv.FormatFloat(f, 'f', -1, 64)))
	if !ok {
		return Money(math.Round(f * 100))
	}
	return m
}

func optDate(s *string, path string) (*Date, *ParseError) {
	if s == nil {
		return nil, nil
	}
	d, err := ParseDate(*s)
	if err != nil {
		return nil, &ParseError{Path: path, Msg: err.Error()}
	}
	return &d, nil
}

// typePath and typeMsg describe a type error of encoding/json relative to
// the element being decoded.
func typePath(base string, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		// encoding/json spells the embedded struct's name in the path.
		te.Field = strings.ReplaceAll(te.Field, "accountFields.", "")
		if base == "" {
			return te.Field
		}
		return base + "." + te.Field
	}
	return base
}

func typeMsg(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := "a string"
		switch te.Type.Kind().String() {
		case "slice":
			want = "an array"
		case "struct":
			want = "an object"
		}
		return fmt.Sprintf("is a JSON %s; want %s", te.Value, want)
	}
	return err.Error()
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// invalidUTF8 returns the offset of the first byte that is not UTF-8.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// position returns the 1-based line and column (in bytes) of offset off.
func position(b []byte, off int) (line, col int) {
	if off > len(b) {
		off = len(b)
	}
	line = 1 + bytes.Count(b[:off], []byte("\n"))
	col = off - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}
