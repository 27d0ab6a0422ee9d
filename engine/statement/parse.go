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

type rawStatement struct {
	AccountList *[]json.RawMessage `json:"account_list"`
}

type rawAccount struct {
	AccountNr       *string            `json:"account_nr"`
	HolderName      *string            `json:"holder_name"`
	HolderID        *string            `json:"holder_id"`
	BankName        *string            `json:"bank_name"`
	Currency        *string            `json:"currency"`
	StartBalance    json.RawMessage    `json:"start_balance"`
	EndBalance      json.RawMessage    `json:"end_balance"`
	PeriodStart     *string            `json:"period_start"`
	PeriodEnd       *string            `json:"period_end"`
	TransactionList *[]json.RawMessage `json:"transaction_list"`
}

type rawTransaction struct {
	Date          *string         `json:"date"`
	Sum           json.RawMessage `json:"sum"`
	Partner       *string         `json:"partner"`
	Info          *string         `json:"info"`
	TransactionID *string         `json:"transaction_id"`
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
		path := typePath("", err)
		if path == "" {
			path = "the top level"
		}
		return nil, fail(NotStatement, path, "%s", typeMsg(err))
	}
	if root.AccountList == nil {
		return nil, fail(NotStatement, "account_list", "missing; a statement is an object with an account_list")
	}
	if len(*root.AccountList) == 0 {
		return nil, fail(NotStatement, "account_list", "empty; a statement needs at least one account")
	}
	accounts := make([]*Account, 0, len(*root.AccountList))
	for i, raw := range *root.AccountList {
		path := fmt.Sprintf("account_list[%d]", i)
		a, err := parseAccount(raw, path)
		if err != nil {
			err.File = name
			return nil, err
		}
		a.File, a.Index = name, i
		accounts = append(accounts, a)
	}
	return accounts, nil
}

func parseAccount(raw json.RawMessage, path string) (*Account, *ParseError) {
	var ra rawAccount
	if err := json.Unmarshal(raw, &ra); err != nil {
		return nil, &ParseError{Path: typePath(path, err), Msg: typeMsg(err)}
	}
	a := &Account{Number: ra.AccountNr, HolderName: ra.HolderName, HolderID: ra.HolderID, Bank: ra.BankName}
	var err *ParseError
	if ra.Currency != nil {
		c := strings.ToUpper(*ra.Currency)
		if len(c) != 3 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return nil, &ParseError{Path: path + ".currency", Msg: fmt.Sprintf("%q is not a three-letter ISO 4217 code", *ra.Currency)}
		}
		a.Currency = &c
	}
	if a.StartBalance, err = optMoney(ra.StartBalance, path+".start_balance"); err != nil {
		return nil, err
	}
	if a.EndBalance, err = optMoney(ra.EndBalance, path+".end_balance"); err != nil {
		return nil, err
	}
	if a.PeriodStart, err = optDate(ra.PeriodStart, path+".period_start"); err != nil {
		return nil, err
	}
	if a.PeriodEnd, err = optDate(ra.PeriodEnd, path+".period_end"); err != nil {
		return nil, err
	}
	if a.PeriodStart != nil && a.PeriodEnd != nil && *a.PeriodEnd < *a.PeriodStart {
		return nil, &ParseError{Path: path + ".period_end", Msg: fmt.Sprintf("%s is before period_start %s", *a.PeriodEnd, *a.PeriodStart)}
	}
	if ra.TransactionList == nil {
		return nil, &ParseError{Path: path + ".transaction_list", Msg: "missing; every account needs a transaction_list (it may be empty)"}
	}
	a.Transactions = make([]Transaction, 0, len(*ra.TransactionList))
	for j, rawT := range *ra.TransactionList {
		tp := fmt.Sprintf("%s.transaction_list[%d]", path, j)
		var rt rawTransaction
		if err := json.Unmarshal(rawT, &rt); err != nil {
			return nil, &ParseError{Path: typePath(tp, err), Msg: typeMsg(err)}
		}
		var t Transaction
		if rt.Date == nil {
			return nil, &ParseError{Path: tp + ".date", Msg: "missing; every transaction needs a YYYY-MM-DD date"}
		}
		d, derr := ParseDate(*rt.Date)
		if derr != nil {
			return nil, &ParseError{Path: tp + ".date", Msg: derr.Error()}
		}
		t.Date = d
		m, err := optMoney(rt.Sum, tp+".sum")
		if err != nil {
			return nil, err
		}
		if m == nil {
			return nil, &ParseError{Path: tp + ".sum", Msg: "missing; every transaction needs a sum (a number, negative for money out)"}
		}
		t.Amount = *m
		if rt.Partner != nil {
			t.Partner = *rt.Partner
		}
		if rt.Info != nil {
			t.Info = *rt.Info
		}
		t.TransactionID = rt.TransactionID
		a.Transactions = append(a.Transactions, t)
	}
	return a, nil
}

// optMoney parses an optional JSON number; null or absent gives nil.
func optMoney(raw json.RawMessage, path string) (*Money, *ParseError) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || s == "null" {
		return nil, nil
	}
	if s[0] != '-' && (s[0] < '0' || s[0] > '9') {
		return nil, &ParseError{Path: path, Msg: fmt.Sprintf("%s is not a number", clip(s))}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f)*100 > maxAmount {
		return nil, &ParseError{Path: path, Msg: fmt.Sprintf("%s is out of range (at most ±100,000,000,000)", clip(s))}
	}
	m := cents(f)
	return &m, nil
}

// cents rounds f to cents, half away from zero, as its shortest decimal
// ("1.005"): math.Round(f*100) would round 1.005 down, that float being
// 1.00499999999999989…. f must be within ±maxAmount cents.
func cents(f float64) Money {
	whole, frac, _ := strings.Cut(strconv.FormatFloat(math.Abs(f), 'f', -1, 64), ".")
	frac += "000"
	n, _ := strconv.ParseInt(whole, 10, 64)
	c := n*100 + int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	if frac[2] >= '5' {
		c++
	}
	if f < 0 {
		c = -c
	}
	return Money(c)
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
