package insights

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ledgerform/ledgerform/engine/statement"
)

// rates are the fixed conversion rates of the package doc: the value of
// one unit of each currency in 1/10000 GBP.
var rates = map[string]int64{
	"GBP": 10000, "EUR": 8500, "USD": 7500, "CHF": 9000, "DKK": 1140,
	"SEK": 720, "NOK": 700, "PLN": 2000, "CZK": 340, "JPY": 50,
}

// mainCurrency is the main currency of each country the engine serves.
var mainCurrency = map[string]string{"uk": "GBP"}

// MainCurrency returns the main currency of a country ("GBP" for "uk"), the
// default of the currency param; "" for a country it does not know.
func MainCurrency(country string) string { return mainCurrency[strings.ToLower(country)] }

// Currencies returns the codes of the rate table, sorted.
func Currencies() []string {
	codes := make([]string, 0, len(rates))
	for c := range rates {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return codes
}

// convert returns a (in from) in to, rounded to the cent half away from
// zero. Both currencies must be in the table unless they are equal.
func convert(a statement.Money, from, to string) statement.Money {
	if from == to {
		return a
	}
	return statement.Money(roundDiv(int64(a)*rates[from], rates[to]))
}

// A ParamError is a params value the insights cannot work with. Param
// names the params key at fault, such as "currency".
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string { return e.Msg }

// Check reports whether the ledgers can be analysed with opt, without
// looking at their transactions: the drop filters must leave a ledger and
// every ledger kept must be convertible into the output currency. main is
// the country's main currency, for ledgers without a currency code and for
// an unset opt.Currency.
func Check(ledgers []Ledger, opt Options, main string) error {
	_, err := keep(ledgers, opt, main)
	return err
}

// keep applies the drop filters and resolves every ledger's currency.
func keep(ledgers []Ledger, opt Options, main string) ([]Ledger, error) {
	to := opt.Currency
	if to == "" {
		to = main
	}
	var kept []Ledger
	for _, l := range ledgers {
		if (opt.DropJoint && l.Joint) || (opt.DropShared && l.Shared) {
			continue
		}
		if l.Currency == "" {
			l.Currency = main
		}
		kept = append(kept, l)
	}
	if len(kept) == 0 {
		param, which := "drop_joint_accounts", "joint"
		switch {
		case opt.DropShared && opt.DropJoint:
			param, which = "drop_shared_accounts", "joint or shared"
		case opt.DropShared:
			param, which = "drop_shared_accounts", "shared"
		}
		if len(ledgers) == 0 {
			return nil, &ParamError{Param: param, Msg: "the statement has no account to analyse"}
		}
		return nil, &ParamError{Param: param,
			Msg: fmt.Sprintf("every account of the statement is %s, so %s leaves nothing to analyse", which, param)}
	}
	known := strings.Join(Currencies(), ", ")
	for _, l := range kept {
		if l.Currency == to {
			continue
		}
		if _, ok := rates[to]; !ok {
			return nil, &ParamError{Param: "currency", Msg: fmt.Sprintf(
				"no conversion rate for currency %s (the statement has %s amounts); the engine converts between %s", to, l.Currency, known)}
		}
		if _, ok := rates[l.Currency]; !ok {
			return nil, &ParamError{Param: "currency", Msg: fmt.Sprintf(
				"no conversion rate from %s, an account's currency, to %s; the engine converts between %s, or set currency to %s",
				l.Currency, to, known, l.Currency)}
		}
	}
	return kept, nil
}
