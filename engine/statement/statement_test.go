package statement

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMoney_String(t *testing.T) {
	for _, tt := range []struct {
		m    Money
		want string
	}{
		{0, "0.00"},
		{1, "0.01"},
		{-1, "-0.01"},
		{-5, "-0.05"},
		{-99, "-0.99"},
		{-100, "-1.00"},
		{-1545, "-15.45"},
		{90080, "900.80"},
		{20000, "200.00"},
		{maxAmount, "100000000000.00"},
		{-maxAmount, "-100000000000.00"},
		{math.MaxInt64, "92233720368547758.07"},
		{math.MinInt64, "-92233720368547758.08"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			if got, want := tt.m.String(), tt.want; got != want {
				t.Errorf("Money(%d).String() = %q, want %q", int64(tt.m), got, want)
			}
			b, err := tt.m.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b), tt.want; got != want {
				t.Errorf("Money(%d).MarshalJSON() = %s, want %s", int64(tt.m), got, want)
			}
		})
	}
}

func TestMoney_MarshalJSON(t *testing.T) {
	v := struct {
		Amount  Money
		Balance *Money
		Missing *Money
	}{Amount: -5, Balance: new(Money(275086))}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"Amount":-0.05,"Balance":2750.86,"Missing":null}`; got != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
}

// TestMoney_roundTrip writes amounts as statement sums and parses them
// back.
func TestMoney_roundTrip(t *testing.T) {
	amounts := []Money{0, 1, -1, -5, -50, -99, 99, 100, -101, 1545, -30050, 36640, maxAmount, -maxAmount, maxAmount - 1}
	for m := Money(-1000); m <= 1000; m += 7 {
		amounts = append(amounts, m)
	}
	var txs []string
	for _, m := range amounts {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, fmt.Sprintf(`{"date": "2026-01-01", "sum": %s}`, b))
	}
	data := `{"account_list": [{"transaction_list": [` + strings.Join(txs, ",") + `]}]}`
	st, err := Parse([]File{{"round-trip.json", []byte(data)}})
	if err != nil {
		t.Fatal(err)
	}
	for i, tx := range st.Accounts[0].Transactions {
		if got, want := tx.Amount, amounts[i]; got != want {
			t.Errorf("sum %s parsed as %d cents, want %d", amounts[i], int64(got), int64(want))
		}
		if got, want := tx.Amount.Float(), float64(amounts[i])/100; got != want {
			t.Errorf("Money(%d).Float() = %v, want %v", int64(amounts[i]), got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want Date
	}{
		{"1970-01-01", 0},
		{"1970-01-02", 1},
		{"1969-12-31", -1},
		{"2000-02-29", 11016},
		{"2019-08-01", 18109},
		{"2026-11-23", 20780},
		{"0000-01-01", -719528},
		{"9999-12-31", 2932896},
	} {
		t.Run(tt.s, func(t *testing.T) {
			d, err := ParseDate(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := d, tt.want; got != want {
				t.Errorf("ParseDate(%q) = %d, want %d", tt.s, int32(got), int32(want))
			}
			if got, want := d.String(), tt.s; got != want {
				t.Errorf("Date(%d).String() = %q, want %q", int32(d), got, want)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b), `"`+tt.s+`"`; got != want {
				t.Errorf("json.Marshal(Date(%d)) = %s, want %s", int32(d), got, want)
			}
			if got, want := d.Time().Format(time.RFC3339), tt.s+"T00:00:00Z"; got != want {
				t.Errorf("Date(%d).Time() = %s, want %s", int32(d), got, want)
			}
		})
	}
}

func TestParseDate_bad(t *testing.T) {
	for _, s := range []string{
		"", "2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-01-00", "2026-04-31",
		"26-01-01", "2026-1-1", "2026/01/01", "01/02/2026", " 2026-01-01", "2026-01-01 ",
		"2026-01-01T00:00:00Z", "+2026-01-01", "２０２６-01-01", "2026-01-1x",
	} {
		t.Run(s, func(t *testing.T) {
			d, err := ParseDate(s)
			if err == nil {
				t.Fatalf("ParseDate(%q) = %s, want an error", s, d)
			}
			if got, want := err.Error(), fmt.Sprintf("%q is not a YYYY-MM-DD date", s); got != want {
				t.Errorf("ParseDate(%q) error = %q, want %q", s, got, want)
			}
		})
	}
}

// TestDate_roundTrip formats and parses every third day from year 0 to
// year 9999.
func TestDate_roundTrip(t *testing.T) {
	first, last := Date(-719528), Date(2932896)
	prev := first.Time()
	for d := first; d <= last; d += 3 {
		s := d.String()
		back, err := ParseDate(s)
		if err != nil {
			t.Fatalf("ParseDate(Date(%d).String() = %q): %v", int32(d), s, err)
		}
		if back != d {
			t.Fatalf("ParseDate(%q) = %d, want %d", s, int32(back), int32(d))
		}
		if d > first {
			if got, want := d.Time().Sub(prev), 3*24*time.Hour; got != want {
				t.Fatalf("Date(%d).Time() is %v after the previous, want %v", int32(d), got, want)
			}
		}
		prev = d.Time()
	}
}

func TestDateOf(t *testing.T) {
	east := time.FixedZone("UTC+5", 5*3600)
	west := time.FixedZone("UTC-8", -8*3600)
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "2026-01-01"},
		{time.Date(2026, 1, 1, 23, 59, 59, 999, time.UTC), "2026-01-01"},
		{time.Date(2026, 1, 1, 2, 0, 0, 0, east), "2026-01-01"},  // 2025-12-31 in UTC
		{time.Date(2026, 1, 1, 22, 0, 0, 0, west), "2026-01-01"}, // 2026-01-02 in UTC
		{time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC), "1969-12-31"},
	} {
		if got, want := DateOf(tt.t).String(), tt.want; got != want {
			t.Errorf("DateOf(%v) = %s, want %s", tt.t, got, want)
		}
	}
}

func TestSplitHolders(t *testing.T) {
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"Priya Patel & Sam Patel", []string{"Priya Patel", "Sam Patel"}},
		{"Mr and Mrs J Smith", []string{"Mr Smith", "Mrs J Smith"}},
		{"Mr & Mrs Smith", []string{"Mr Smith", "Mrs Smith"}},
		{"Dr. & Mr. K Osei", []string{"Dr. Osei", "Mr. K Osei"}},
		{"Priya & Sam Patel", []string{"Priya Patel", "Sam Patel"}},
		{"Alex Morgan", []string{"Alex Morgan"}},
		{"  Alex   Morgan ", []string{"Alex Morgan"}},
		{"Alexander Andrews", []string{"Alexander Andrews"}}, // "and" only as a word
		{"ALEX AND SAM MORGAN", []string{"ALEX MORGAN", "SAM MORGAN"}},
		{"A Morgan + B Morgan", []string{"A Morgan", "B Morgan"}},
		{"A Morgan / B Lee", []string{"A Morgan", "B Lee"}},
		{"A Morgan; B Lee; C Diaz", []string{"A Morgan", "B Lee", "C Diaz"}},
		{"A Morgan & & B Lee", []string{"A Morgan", "B Lee"}},
		// A company is one holder, not "A Ltd" and "B Ltd".
		{"A and B Ltd", []string{"A and B Ltd"}},
		{"Marks and Spencer Ltd.", []string{"Marks and Spencer Ltd."}},
		{"Smith & Jones Limited", []string{"Smith & Jones Limited"}},
		{"Patel + Sons PLC", []string{"Patel + Sons PLC"}},
		{"", nil},
		{"   ", nil},
		{" & and / ", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := SplitHolders(tt.name), tt.want; !slices.Equal(got, want) {
				t.Errorf("SplitHolders(%q) = %q, want %q", tt.name, got, want)
			}
		})
	}
}

// upload returns a statement with one file per holder name, each of one
// account; "-" leaves holder_name out.
func upload(t *testing.T, holders ...string) *Statement {
	t.Helper()
	var files []File
	for i, h := range holders {
		account := map[string]any{"transaction_list": []any{}}
		if h != "-" {
			account["holder_name"] = h
		}
		data, err := json.Marshal(map[string]any{"account_list": []any{account}})
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: fmt.Sprintf("file-%d.json", i), Data: data})
	}
	st, err := Parse(files)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestParse_ownership(t *testing.T) {
	for _, tt := range []struct {
		name    string
		holders []string
		want    string // per account: joint and shared, "-" for nil
	}{
		{"one holder", []string{"Alex Morgan"}, "joint=false shared=false"},
		{"joint", []string{"Priya Patel & Sam Patel"}, "joint=true shared=false"},
		{"title and surname", []string{"Mr and Mrs J Smith"}, "joint=true shared=false"},
		{"company", []string{"A and B Ltd", "A and B Ltd"}, "joint=false shared=false, joint=false shared=false"},
		{"single account never shared", []string{"Sam Patel"}, "joint=false shared=false"},
		{"someone else's account", []string{"Alex Morgan", "Alex Morgan", "Sam Patel"}, "joint=false shared=false, joint=false shared=false, joint=false shared=true"},
		{"main holder by count, not first", []string{"Sam Patel", "Alex Morgan", "Alex Morgan"}, "joint=false shared=true, joint=false shared=false, joint=false shared=false"},
		{"tie keeps the first", []string{"Alex Morgan", "Sam Patel"}, "joint=false shared=false, joint=false shared=true"},
		{"names compared loosely", []string{"Alex Morgan", "ALEX  MORGAN.", "Sam Patel"}, "joint=false shared=false, joint=false shared=false, joint=false shared=true"},
		{"joint with the main holder", []string{"Alex Morgan", "Alex Morgan & Sam Patel"}, "joint=false shared=false, joint=true shared=false"},
		{"joint without the main holder", []string{"Alex Morgan", "Alex Morgan", "Sam Patel and Lee Patel"}, "joint=false shared=false, joint=false shared=false, joint=true shared=true"},
		{"no holder_name", []string{"-"}, "joint=- shared=-"},
		{"no holder_name beside others", []string{"Alex Morgan", "-", "Sam Patel"}, "joint=false shared=false, joint=- shared=-, joint=false shared=true"},
		{"blank holder_name", []string{"Alex Morgan", " ", "Sam Patel"}, "joint=false shared=false, joint=- shared=-, joint=false shared=true"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := upload(t, tt.holders...)
			var got []string
			for _, a := range st.Accounts {
				got = append(got, fmt.Sprintf("joint=%s shared=%s", show(a.Joint), show(a.Shared)))
				if a.HolderName == nil || strings.TrimSpace(*a.HolderName) == "" {
					if a.Holders != nil {
						t.Errorf("account %d: Holders = %q, want nil", a.Index, a.Holders)
					}
				} else if got, want := a.Holders, SplitHolders(*a.HolderName); !slices.Equal(got, want) {
					t.Errorf("account %d: Holders = %q, want %q", a.Index, got, want)
				}
			}
			if got, want := strings.Join(got, ", "), tt.want; got != want {
				t.Errorf("ownership of %q:\n got %s\nwant %s", tt.holders, got, want)
			}
		})
	}
}

// TestParse_ownershipAcrossAccounts checks that ownership looks at every
// account of every file, not one file at a time.
func TestParse_ownershipAcrossAccounts(t *testing.T) {
	st, err := Parse([]File{
		readFile(t, "two-accounts.json"), // Priya & Sam Patel jointly; Alex Watson
		readFile(t, "example.json"),      // Alex Watson
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range st.Accounts {
		got = append(got, fmt.Sprintf("%s[%d] joint=%s shared=%s", a.File, a.Index, show(a.Joint), show(a.Shared)))
	}
	want := []string{
		"two-accounts.json[0] joint=true shared=true",
		"two-accounts.json[1] joint=false shared=false",
		"example.json[0] joint=false shared=false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ownership:\n got %q\nwant %q", got, want)
	}
}
