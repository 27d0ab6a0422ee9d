package report

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Address
		kind Kind
		name string
		file string
	}{
		{in: "report.a", want: "report.a", kind: KindReport, name: "a"},
		{in: "report.alex-watson-2019.08_b", want: "report.alex-watson-2019.08_b", kind: KindReport, name: "alex-watson-2019.08_b"},
		{in: "drop.inbox", want: "drop.inbox", kind: KindDrop, name: "inbox"},
		{in: `drop.inbox["a.json"]`, want: `drop.inbox["a.json"]`, kind: KindDrop, name: "inbox", file: "a.json"},
		{in: `drop.inbox["we\"ird ü.json"]`, want: DropAddress("inbox", `we"ird ü.json`), kind: KindDrop, name: "inbox", file: `we"ird ü.json`},
		{in: `drop.inbox["sub]dir.json"]`, want: DropAddress("inbox", "sub]dir.json"), kind: KindDrop, name: "inbox", file: "sub]dir.json"},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want || got.Kind() != tc.kind || got.Name() != tc.name || got.String() != string(tc.want) {
			t.Errorf("Parse(%q) = %q (kind %d, name %q), want %q (kind %d, name %q)", tc.in, got, got.Kind(), got.Name(), tc.want, tc.kind, tc.name)
		}
		if f, ok := got.File(); f != tc.file || ok != (tc.file != "") {
			t.Errorf("Parse(%q).File() = %q, %v; want %q", tc.in, f, ok, tc.file)
		}
	}
}

func TestParse_errors(t *testing.T) {
	for _, in := range []string{"", "report.", "report.A", "report.a b", "drop.", "drop.inbox[", `drop.inbox["a.json"`,
		`drop.inbox[a.json]`, `drop.inbox[""]`, "reports.a", "a", "report.a[", ".report.a", `drop.inbox["a"]x`} {
		if a, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", in, a)
		} else if !strings.Contains(err.Error(), "want report.NAME") && !strings.Contains(err.Error(), "not a valid name") {
			t.Errorf("Parse(%q): %q does not say what an address looks like", in, err)
		}
	}
}

func TestAddress_Selects(t *testing.T) {
	f := DropAddress("inbox", "a.json")
	for _, tc := range []struct {
		target, addr Address
		want         bool
	}{
		{"report.a", "report.a", true},
		{"report.a", "report.ab", false},
		{"drop.inbox", f, true},
		{"drop.inboxes", f, false},
		{"drop.inbox", DropAddress("inboxes", "a.json"), false},
		{f, f, true},
		{f, DropAddress("inbox", "b.json"), false},
		{"drop.inbox", "report.inbox", false},
		{"report.inbox", f, false},
	} {
		if got := tc.target.Selects(tc.addr); got != tc.want {
			t.Errorf("%s.Selects(%s) = %v, want %v", tc.target, tc.addr, got, tc.want)
		}
	}
}

func TestAddress_JSON(t *testing.T) {
	a := DropAddress("inbox", "a.json")
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `"drop.inbox[\"a.json\"]"`; got != want {
		t.Errorf("JSON %s, want %s", got, want)
	}
	var back Address
	if err := json.Unmarshal(b, &back); err != nil || back != a {
		t.Errorf("round trip: %q, %v", back, err)
	}
}

func TestParamKeys(t *testing.T) {
	want := []string{"period", "currency", "drop_shared_accounts", "drop_joint_accounts", "income_definition", "expense_definition"}
	if got := ParamKeys(); !slices.Equal(got, want) {
		t.Errorf("ParamKeys() = %v, want %v", got, want)
	}
	ParamKeys()[0] = "changed"
	if ParamKeys()[0] != "period" {
		t.Error("ParamKeys shares its slice")
	}
}

// Clone copies every field deeply: a field added to Params that holds a
// pointer or a slice fails here until Clone copies it.
func TestParams_Clone(t *testing.T) {
	var p Params
	v := reflect.ValueOf(&p).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		default:
			t.Fatalf("field %s of kind %s: teach this test about it", v.Type().Field(i).Name, f.Kind())
		}
	}
	c := p.Clone()
	if !reflect.DeepEqual(*c, p) {
		t.Fatalf("clone %+v differs from %+v", *c, p)
	}
	cv := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		a, b := v.Field(i), cv.Field(i)
		if a.Kind() == reflect.Pointer && a.Pointer() == b.Pointer() || a.Kind() == reflect.Slice && a.Index(0).Addr().Pointer() == b.Index(0).Addr().Pointer() {
			t.Errorf("field %s is shared by the clone", v.Type().Field(i).Name)
		}
	}
	if (*Params)(nil).Clone() != nil || !(*Params)(nil).IsZero() || !(&Params{}).IsZero() || p.IsZero() {
		t.Error("nil and zero params")
	}
}
