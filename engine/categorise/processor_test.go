package categorise

import "testing"

func TestProcessorCut(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"VIS SUMUP *THE ORCHARD WIN", "WIN"},
		{"POS ZTL*THE GREEN LANE ESP 21JUN24", "ESP"},
		{"DEB IZ *THE GREEN LANE DAI CD 2953", "DAI"},
		{"CARD PAYMENT TO ZETTLE_*THE CASTLE INT,94.38 GBP", "INT"},
		{"POS SumUp  *THE VILLAGE ES 21DEC26", "ES"},
		{"VIS SQ *BEVS COFFEE CO", ""},                           // shorter than the field
		{"CARD PAYMENT TO iZ *THE PRIORY GARAGE ,33.48 GBP", ""}, // the field ends in a space
		{"DEB AMAZON*MK4AB12CD34EF56GH78 CD 1", ""},              // not a processor
		{"TESCO STORES 3064", ""},
	} {
		w, ok := processorCut(tc.in, nil)
		if got := string(w); got != tc.want || ok != (tc.want != "") {
			t.Errorf("processorCut(%q) = %q, %v, want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestUK_Categorise_processorCut(t *testing.T) {
	c := UK()
	for _, tc := range []struct {
		info string
		want int
	}{
		{"POS ZTL*THE GREEN LANE ESP 21JUN24", 100141}, // ESPRESSO
		{"DEB IZ *THE GREEN LANE DAI CD 2953", 26},     // DAIRY
		{"VIS SUMUP *THE ORCHARD WIN", 100999},         // WINES or WINE BAR: left alone
	} {
		if got := c.Categorise("", tc.info, false, nil); got.ID != tc.want {
			t.Errorf("Categorise(%q) = %d %s, want %d", tc.info, got.ID, got.Title, tc.want)
		}
	}
}
