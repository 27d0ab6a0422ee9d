package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	suggestpkg "github.com/ledgerform/ledgerform/internal/suggest"

	"go.yaml.in/yaml/v3"

	"github.com/ledgerform/ledgerform/report"
)

const (
	// maxManifestSize caps a manifest before it is parsed: the YAML
	// parser bounds neither scalar length nor the work of duplicate-key
	// checks.
	maxManifestSize = 1 << 20
	// maxErrorsPerFile keeps a garbage file from burying the problems of
	// the others.
	maxErrorsPerFile = 50
	// maxParallelism guards against a typo starting thousands of workers.
	maxParallelism = MaxParallelism
	// maxPeriod matches the engine's limit (months).
	maxPeriod = 1200
)

// The operation keywords, sorted.
var operations = []string{"categorisation", "insights-income", "insights-loans", "insights-risk", "simple-score"}

var nameRE = report.NameRE

// The keys allowed at each level.
var (
	topKeys      = []string{"settings", "reports", "drops"}
	settingsKeys = []string{"endpoint", "parallelism", "prune", "rate_limit", "notifications", "html"}
	reportKeys   = []string{"name", "statements", "operations", "country", "params", "output", "suspend", "html"}
	dropKeys     = []string{"name", "dir", "pattern", "operations", "country", "params", "output_dir", "suspend", "html"}
	paramsKeys   = report.ParamKeys()

	reportRequired = []string{"name", "statements", "operations", "country"}
	dropRequired   = []string{"name", "dir", "operations", "country"}
)

// A manifest is one decoded file, before the checks that span files or
// look at the file system.
type manifest struct {
	settings *Settings // nil when the file has no settings block
	reports  []*reportEntry
	drops    []*dropEntry
}

// entry holds what reports and drops share.
type entry struct {
	pos        Pos
	name       string // "" when missing or invalid
	namePos    Pos
	operations []string
	country    string
	params     *report.Params
	suspend    bool
	html       *bool // nil when not written: settings.html decides
	bad        bool  // the entry has errors of its own
}

type reportEntry struct {
	entry
	statements []pathValue
	output     pathValue // zero when not written
}

type dropEntry struct {
	entry
	dir       pathValue
	pattern   string
	outputDir pathValue // zero when not written
}

// A pathValue is a path as written, with its position.
type pathValue struct {
	path string
	pos  Pos
}

func (p pathValue) set() bool { return p.pos.File != "" }

// parse decodes and validates one manifest without touching the file
// system. It returns what it could decode (nil when the file as a whole
// is unusable; entries with errors marked bad), so that the loader can
// go on to find the problems that span files, and the errors. It never
// panics: a panic in the YAML parser becomes an error naming the file.
func parse(file string, data []byte) (m *manifest, errs Errors) {
	defer func() {
		if r := recover(); r != nil {
			m = nil
			errs = Errors{{Pos: Pos{File: file}, Msg: fmt.Sprintf("the YAML parser failed on this file: %v", r)}}
		}
	}()
	if len(data) > maxManifestSize {
		return nil, Errors{{Pos: Pos{File: file}, Msg: fmt.Sprintf("manifest is %d bytes, over the limit of %d", len(data), maxManifestSize)}}
	}
	if e := checkText(file, data); e != nil {
		return nil, Errors{e}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{emptyManifest(Pos{File: file})}
		}
		return nil, Errors{syntaxError(file, err)}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		pos := Pos{File: file, Line: next.Line, Col: next.Column}
		if len(next.Content) > 0 {
			pos.Line, pos.Col = next.Content[0].Line, next.Content[0].Column
		}
		return nil, Errors{{Pos: pos, Msg: "a second YAML document; a manifest holds exactly one (remove the \"---\" or split the file)"}}
	case !errors.Is(err, io.EOF):
		return nil, Errors{syntaxError(file, err)}
	}
	if len(doc.Content) != 1 {
		return nil, Errors{emptyManifest(Pos{File: file})}
	}
	d := &decoder{file: file}
	root := doc.Content[0]
	if n := firstAlias(root); n != nil {
		d.errorf(n, "anchors and aliases are not allowed in manifests")
		return nil, d.errs
	}
	if isNull(root) {
		return nil, Errors{emptyManifest(d.pos(root))}
	}
	m = &manifest{}
	d.mapping(root, "the manifest", topKeys, func(key string, k, v *yaml.Node) {
		if isNull(v) {
			return
		}
		switch key {
		case "settings":
			m.settings = d.settings(k, v)
		case "reports":
			items, _ := d.list(v, "reports")
			for _, item := range items {
				if r := d.report(item); r != nil {
					m.reports = append(m.reports, r)
				}
			}
		case "drops":
			items, _ := d.list(v, "drops")
			for _, item := range items {
				if dr := d.drop(item); dr != nil {
					m.drops = append(m.drops, dr)
				}
			}
		}
	})
	return m, d.errs
}

func emptyManifest(pos Pos) *Error {
	return &Error{Pos: pos, Msg: `empty manifest; write at least one of settings, reports or drops ("reports: []" declares none)`}
}

// checkText reports the first byte that is not UTF-8 or not a character
// YAML allows, with its line and column: the parser reports either
// without a position.
func checkText(file string, data []byte) *Error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			msg := "not UTF-8: invalid byte"
			if i == 0 && (bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe})) {
				msg = "not UTF-8: manifests must be UTF-8, this file looks like UTF-16"
			}
			return &Error{Pos: Pos{File: file, Line: line, Col: col}, Msg: fmt.Sprintf("%s 0x%02x", msg, data[i])}
		case !printable(r, i == 0):
			return &Error{Pos: Pos{File: file, Line: line, Col: col}, Msg: fmt.Sprintf("control character %U is not allowed in YAML", r)}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}

// printable reports whether YAML 1.2 allows r in a document (§5.1); a
// byte order mark is allowed at the start.
func printable(r rune, first bool) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7e:
		return true
	case r >= 0xa0 && r <= 0xd7ff, r >= 0x10000 && r <= 0x10ffff:
		return true
	case r == 0xfeff:
		return first
	case r >= 0xe000 && r <= 0xfffd:
		return true
	}
	return false
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a parser error ("yaml: line 3: …", line only, and
// none on the first line) into an Error.
func syntaxError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Pos: Pos{File: file, Line: line}, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{Pos: Pos{File: file}, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// firstAlias returns the first node, in document order, that defines an
// anchor or is an alias. Manifests have no use for either, and refusing
// them rules out alias bombs and the merge key.
func firstAlias(root *yaml.Node) *yaml.Node {
	stack := []*yaml.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.Kind == yaml.AliasNode || n.Anchor != "" {
			return n
		}
		for i := len(n.Content) - 1; i >= 0; i-- {
			stack = append(stack, n.Content[i])
		}
	}
	return nil
}

// A decoder walks the nodes of one manifest, collecting errors.
type decoder struct {
	file string
	errs Errors
	n    int // errors found, including those past maxErrorsPerFile
}

func (d *decoder) pos(n *yaml.Node) Pos {
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.n++
	switch {
	case d.n == maxErrorsPerFile+1:
		d.errs.add(d.pos(n), "too many errors in this file; not reporting more")
	case d.n <= maxErrorsPerFile:
		d.errs.add(d.pos(n), format, args...)
	}
}

// mapping calls fn for each key of n in order, after reporting keys that
// are not scalars, repeated or not in keys. It reports whether n is a
// mapping.
func (d *decoder) mapping(n *yaml.Node, what string, keys []string, fn func(key string, k, v *yaml.Node)) bool {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping of keys to values, not %s", what, describe(n))
		return false
	}
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "a key in %s must be a plain word, not %s", what, describe(k))
			continue
		}
		key := k.Value
		if first, dup := seen[key]; dup {
			d.errorf(k, "duplicate key %q (first at %s)", key, d.pos(first))
			continue
		}
		seen[key] = k
		if !slices.Contains(keys, key) {
			d.errorf(k, "unknown key %q in %s%s", key, what, suggest(key, keys, "the keys are"))
			continue
		}
		fn(key, k, v)
	}
	return true
}

// list returns the items of a sequence, or reports that n is not one.
func (d *decoder) list(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	if n.Kind != yaml.SequenceNode {
		hint := ""
		if n.Kind == yaml.ScalarNode && !isNull(n) {
			hint = fmt.Sprintf(" (write [%s])", clip(n.Value))
		}
		d.errorf(n, "%s must be a list, not %s%s", what, describe(n), hint)
		return nil, false
	}
	return n.Content, true
}

// str returns the text of a scalar. Numbers and dates are taken as
// written (a name may be 2019-08); booleans and null are refused, since
// their text is rarely what was meant.
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!timestamp":
			return n.Value, true
		}
	}
	d.errorf(n, "%s must be a string, not %s", what, describe(n))
	return "", false
}

func (d *decoder) integer(n *yaml.Node, what string, min, max int) (int, bool) {
	var i int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		d.errorf(n, "%s must be a whole number from %d to %d, not %s", what, min, max, describe(n))
		return 0, false
	}
	if i < int64(min) || i > int64(max) {
		d.errorf(n, "%s must be from %d to %d, not %s", what, min, max, n.Value)
		return 0, false
	}
	return int(i), true
}

// number decodes a whole or decimal number from min to max.
func (d *decoder) number(n *yaml.Node, what string, min, max float64) (float64, bool) {
	var f float64
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil || f != f {
		d.errorf(n, "%s must be a number from %g to %g, not %s", what, min, max, describe(n))
		return 0, false
	}
	if f < min || f > max {
		d.errorf(n, "%s must be from %g to %g, not %s", what, min, max, n.Value)
		return 0, false
	}
	return f, true
}

func (d *decoder) boolean(n *yaml.Node, what string) (bool, bool) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.errorf(n, "%s must be true or false, not %s", what, describe(n))
		return false, false
	}
	return b, true
}

// describe names what n is, for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!null":
		return "empty"
	case "!!bool":
		return "the boolean " + n.Value
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!str", "!!timestamp":
		return fmt.Sprintf("the string %q", clip(n.Value))
	}
	return "a value tagged " + n.ShortTag()
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func (d *decoder) settings(k, v *yaml.Node) *Settings {
	s := &Settings{Pos: d.pos(k)}
	d.mapping(v, "settings", settingsKeys, func(key string, _, v *yaml.Node) {
		if isNull(v) {
			return
		}
		switch key {
		case "endpoint":
			if e, ok := d.str(v, "endpoint"); ok {
				if msg := checkEndpoint(e); msg != "" {
					d.errorf(v, "%s", msg)
				}
				s.Endpoint = e
			}
		case "parallelism":
			s.Parallelism, _ = d.integer(v, "parallelism", 1, maxParallelism)
		case "prune":
			s.Prune, _ = d.boolean(v, "prune")
		case "rate_limit":
			s.RateLimit, _ = d.number(v, "rate_limit", 0, MaxRateLimit)
		case "notifications":
			s.Notifications = d.notifications(v)
		case "html":
			s.HTML, _ = d.boolean(v, "html")
		}
	})
	return s
}

// CheckEndpoint returns what is wrong with an endpoint given outside the
// manifests (--endpoint) by the rules of settings.endpoint, or nil: it
// must be "embedded" or an http(s) URL with a host, and no credentials,
// query or fragment.
func CheckEndpoint(e string) error {
	if msg := checkEndpoint(e); msg != "" {
		return errors.New(msg)
	}
	return nil
}

// checkEndpoint returns what is wrong with an endpoint, or "".
func checkEndpoint(e string) string {
	if e == "embedded" {
		return ""
	}
	u, err := url.Parse(e)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return fmt.Sprintf("endpoint %q must be \"embedded\" or an http(s) URL such as https://api.nordigen.com", clip(e))
	case u.User != nil:
		return "endpoint must not hold credentials; set NORDIGEN_CLIENT_ID and NORDIGEN_CLIENT_SECRET instead"
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("endpoint %q must not have a query or fragment", clip(e))
	}
	return ""
}

// common decodes a key that reports and drops share, and reports whether
// key was one.
func (d *decoder) common(e *entry, key string, v *yaml.Node) bool {
	switch key {
	case "name":
		s, ok := d.str(v, "name")
		if !ok {
			return true
		}
		if !nameRE.MatchString(s) {
			d.errorf(v, "invalid name %q: a name is 1 to 100 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", clip(s))
			return true
		}
		e.name, e.namePos = s, d.pos(v)
	case "operations":
		e.operations = d.operations(v)
	case "country":
		s, ok := d.str(v, "country")
		if !ok {
			return true
		}
		if len(s) != 2 || !isLetter(s[0]) || !isLetter(s[1]) {
			d.errorf(v, "invalid country %q: want a two-letter code such as uk", clip(s))
			return true
		}
		e.country = strings.ToLower(s)
	case "params":
		e.params = d.params(v)
	case "suspend":
		e.suspend, _ = d.boolean(v, "suspend")
	case "html":
		if b, ok := d.boolean(v, "html"); ok {
			e.html = &b
		}
	default:
		return false
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// null reports whether v is null, which leaves an optional key unset and
// is an error for a required one.
func (d *decoder) null(k, v *yaml.Node, required []string) bool {
	if !isNull(v) {
		return false
	}
	if slices.Contains(required, k.Value) {
		d.errorf(k, "%s has no value", k.Value)
	}
	return true
}

// required reports the required keys that were not written (or were
// written empty) in the mapping n.
func (d *decoder) required(n *yaml.Node, what, name string, seen map[string]bool, keys []string) {
	if n.Kind != yaml.MappingNode {
		return
	}
	if name != "" {
		what += fmt.Sprintf(" %q", name)
	}
	for _, k := range keys {
		if !seen[k] {
			d.errorf(n, "%s has no %s", what, k)
		}
	}
}

// entry decodes n, the mapping of a report or a drop (what), into e. It
// decodes the keys that reports and drops share, and hands every other key
// that is not null to own. It reports the required keys that are missing,
// marks e bad if it has errors of its own, and returns false if n is not a
// mapping.
func (d *decoder) entry(n *yaml.Node, what string, keys, required []string, e *entry, own func(key string, v *yaml.Node)) bool {
	before := d.n
	seen := make(map[string]bool)
	ok := d.mapping(n, what, keys, func(key string, k, v *yaml.Node) {
		seen[key] = true
		if d.null(k, v, required) || d.common(e, key, v) {
			return
		}
		own(key, v)
	})
	if !ok {
		return false
	}
	d.required(n, what, e.name, seen, required)
	e.bad = d.n > before
	return true
}

// report decodes one report; nil if n is not a mapping.
func (d *decoder) report(n *yaml.Node) *reportEntry {
	r := &reportEntry{entry: entry{pos: d.pos(n)}}
	ok := d.entry(n, "report", reportKeys, reportRequired, &r.entry, func(key string, v *yaml.Node) {
		switch key {
		case "statements":
			items, ok := d.list(v, "statements")
			if ok && len(items) == 0 {
				d.errorf(v, "statements must list at least one file or glob")
			}
			for _, item := range items {
				if p, ok := d.path(item, "a statement"); ok {
					r.statements = append(r.statements, p)
				}
			}
		case "output":
			r.output, _ = d.path(v, "output")
		}
	})
	if !ok {
		return nil
	}
	return r
}

// drop decodes one drop; nil if n is not a mapping.
func (d *decoder) drop(n *yaml.Node) *dropEntry {
	dr := &dropEntry{entry: entry{pos: d.pos(n)}, pattern: defaultPattern}
	ok := d.entry(n, "drop", dropKeys, dropRequired, &dr.entry, func(key string, v *yaml.Node) {
		switch key {
		case "dir":
			dr.dir, _ = d.path(v, "dir")
		case "pattern":
			s, ok := d.str(v, "pattern")
			if !ok {
				return
			}
			if msg := checkPattern(s); msg != "" {
				d.errorf(v, "%s", msg)
				return
			}
			dr.pattern = s
		case "output_dir":
			dr.outputDir, _ = d.path(v, "output_dir")
		}
	})
	if !ok {
		return nil
	}
	return dr
}

// path decodes a path as written; the loader checks where it leads.
func (d *decoder) path(n *yaml.Node, what string) (pathValue, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return pathValue{}, false
	}
	if s == "" {
		d.errorf(n, "%s must not be empty", what)
		return pathValue{}, false
	}
	if strings.IndexByte(s, 0) >= 0 {
		d.errorf(n, "%s must not contain a NUL byte", what)
		return pathValue{}, false
	}
	return pathValue{path: s, pos: d.pos(n)}, true
}

// operations decodes, checks, sorts and de-duplicates a list of
// operation keywords.
func (d *decoder) operations(n *yaml.Node) []string {
	items, ok := d.list(n, "operations")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(n, "operations must list at least one of %s", strings.Join(operations, ", "))
		return nil
	}
	var ops []string
	for _, item := range items {
		s, ok := d.str(item, "an operation")
		if !ok {
			continue
		}
		if !slices.Contains(operations, s) {
			d.errorf(item, "unknown operation %q%s", clip(s), suggest(s, operations, "the operations are"))
			continue
		}
		ops = append(ops, s)
	}
	slices.Sort(ops)
	return slices.Compact(ops)
}

func (d *decoder) params(n *yaml.Node) *report.Params {
	var p report.Params
	d.mapping(n, "params", paramsKeys, func(key string, _, v *yaml.Node) {
		if isNull(v) {
			return
		}
		switch key {
		case "period":
			if i, ok := d.integer(v, "period", 1, maxPeriod); ok {
				p.Period = &i
			}
		case "currency":
			s, ok := d.str(v, "currency")
			if !ok {
				return
			}
			if len(s) != 3 || !isLetter(s[0]) || !isLetter(s[1]) || !isLetter(s[2]) {
				d.errorf(v, "invalid currency %q: want a three-letter ISO 4217 code such as GBP", clip(s))
				return
			}
			s = strings.ToUpper(s)
			p.Currency = &s
		case "drop_shared_accounts":
			if b, ok := d.boolean(v, key); ok {
				p.DropSharedAccounts = &b
			}
		case "drop_joint_accounts":
			if b, ok := d.boolean(v, key); ok {
				p.DropJointAccounts = &b
			}
		case "income_definition":
			p.IncomeDefinition = d.categories(v, key)
		case "expense_definition":
			p.ExpenseDefinition = d.categories(v, key)
		}
	})
	if p.IsZero() {
		return nil // params: {} is no params, so that the two never differ in a plan
	}
	return &p
}

// categories decodes a non-empty list of category ids, sorted and
// de-duplicated (the API treats it as a set).
func (d *decoder) categories(n *yaml.Node, what string) []int {
	items, ok := d.list(n, what)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(n, "%s must list at least one category id (leave it out for the API's default)", what)
		return nil
	}
	var ids []int
	for _, item := range items {
		if id, ok := d.integer(item, "a category id", 1, 1<<31-1); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// suggest returns "; did you mean "x"?" when word is a likely typo of one
// of words, else "; <intro> a, b and c".
func suggest(word string, words []string, intro string) string {
	if best := suggestpkg.Closest(word, words); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return fmt.Sprintf("; %s %s and %s", intro, strings.Join(words[:len(words)-1], ", "), words[len(words)-1])
}
