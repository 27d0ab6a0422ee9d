package statement

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// UnmarshalJSON reads a JSON number into m, rounded to cents.
func (m *Money) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f)*100 > maxAmount {
		return fmt.Errorf("money: %s is not an amount", clip(string(b)))
	}
	*m = cents(f)
	return nil
}

// UnmarshalJSON reads a "YYYY-MM-DD" string into d.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: %s is not a string", clip(string(b)))
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
