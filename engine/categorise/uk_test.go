package categorise

import "testing"

// ukCase is one realistic UK bank transaction and the category it must get.
// The partner and info are written the way different banks export them:
//
//   - Barclays: the memo in info, with trailing codes (DDR, BGC, BCC).
//   - Lloyds and Halifax: a transaction-type code (DEB, DD, SO, BP, FPI, FPO,
//     BGC, CPT, DEP, TFR, CHQ) before the description in info.
//   - HSBC: VIS for a card, ")))" for contactless, DD, CR, SO in info.
//   - Monzo and Starling: a clean merchant or payer name as the partner and
//     the payment reference (often empty) as info.
//   - Nationwide: the description as the partner, the transaction type
//     ("Contactless Payment", "Direct debit", "Bank credit") as info.
//   - Santander: one long info line, "CARD PAYMENT TO … ON dd-mm-yyyy",
//     "DIRECT DEBIT PAYMENT TO … REF …", "BANK GIRO CREDIT REF …".
type ukCase struct {
	partner, info string
	in            bool // money in
	want          int
}

// ukHolders are the account holders every case is categorised for.
var ukHolders = []string{"Mr Alex Morgan"}

// ukCases is the specification of the UK rules. It is also the input of
// BenchmarkUK_Categorise.
var ukCases = []ukCase{
	// ---- groceries ----
	{"", "DEB TESCO STORES 2345 CD 1234", false, 84},
	{"Tesco", "", false, 84},
	{"", "CARD PAYMENT TO SAINSBURYS S/MKT,23.40 GBP, RATE 1.00/GBP, ON 12-03-2024", false, 84},
	{"", "VIS ASDA STORES 4512 LEEDS", false, 84},
	{"", "))) ALDI 87 STOCKPORT", false, 84},
	{"LIDL GB BIRMINGHAM", "Contactless Payment", false, 84},
	{"", "M&S SIMPLY FOOD 3120 ON 14 MAR BCC", false, 84},
	{"Ocado", "Ocado Retail Ltd", false, 84},
	{"", "DEB WM MORRISON STORE CD 4411", false, 84},
	{"", "DEB CO-OP GROUP FOOD 070452 CD 1234", false, 84},
	{"", "CARD PAYMENT TO TESCO STORES 6182 SCHOOL LANE ON 01-02-2024", false, 84}, // an address word
	{"Iceland", "", false, 84},
	{"", "VIS ONE STOP 1234 BRISTOL", false, 100011},
	{"Londis", "", false, 100011},
	{"", "DEB BARGAIN BOOZE CD 1234", false, 100011},

	// ---- fuel ----
	{"", "DEB SHELL KINGSTON CD 1234", false, 44},
	{"", "CARD PAYMENT TO ESSO HIGHWAY SERVICE ON 02-04-2024", false, 44},
	{"BP", "", false, 44},
	{"", "DEB BP HIGH WYCOMBE CD 5521", false, 44},
	{"", "CARD PAYMENT TO BP CONNECT ASHFORD ON 03-04-2024", false, 44},
	{"TESCO PFS 4321", "Contactless Payment", false, 44},
	{"", "VIS SAINSBURYS PETROL 0123", false, 44},
	{"", "DEB TEXACO CROYDON CD 1234", false, 44},
	{"", "BP JAMIE SMITH REF BIRTHDAY", false, 714},            // Lloyds bill payment to a friend: not fuel
	{"", "BP BRITISH GAS 850012345", false, 100021},            // Lloyds bill payment to British Gas
	{"BP PLC", "BGC BP PLC SALARY MARCH", true, 85},            // salary from BP
	{"Shell Energy", "Shell Energy Retail Ltd", false, 100021}, // energy, not fuel
	{"Sea Shell Fish Bar", "", false, 100142},                  // a chip shop, not fuel
	{"Pod Point", "", false, 44},

	// ---- utilities ----
	{"", "DD BRITISH GAS", false, 100021},
	{"Octopus Energy", "", false, 100021},
	{"", "DIRECT DEBIT PAYMENT TO E.ON NEXT ENERGY LTD REF A-1234, MANDATE NO 0012", false, 100021},
	{"", "EDF ENERGY 1234567 DDR", false, 100021},
	{"OVO Energy", "", false, 100021},
	{"", "DD SCOTTISH POWER", false, 100021},
	{"Calor Gas", "", false, 30},
	{"", "DD THAMES WATER", false, 36},
	{"", "DIRECT DEBIT PAYMENT TO SEVERN TRENT WATER REF 7788", false, 36},
	{"Dwr Cymru Welsh Water", "", false, 36},
	{"", "DD UNITED UTILITIES", false, 36},
	{"Northumbrian Water", "", false, 36},
	{"", "SOUTH WEST WATER DDR", false, 36},
	{"", "DD AFFINITY WATER", false, 36},
	{"EE", "", false, 100022},
	{"", "DD EE LIMITED", false, 100022},
	{"Three", "", false, 100022},
	{"", "DD VODAFONE LTD", false, 100022},
	{"", "O2 UK DDR", false, 100022},
	{"Tesco Mobile", "", false, 100022},
	{"giffgaff", "", false, 100022},
	{"", "DD VIRGIN MEDIA", false, 100023},
	{"Sky", "", false, 100023},
	{"", "SKY DIGITAL 1234 DDR", false, 100023},
	{"", "DD BT GROUP PLC", false, 100023},
	{"TalkTalk", "", false, 100023},
	{"Utility Warehouse", "", false, 37},

	// ---- housing ----
	{"", "SO J SMITH RENT", false, 100101},
	{"Foxtons", "Rent flat 4", false, 100101},
	{"", "BILL PAYMENT VIA FASTER PAYMENT TO OPENRENT REFERENCE RENT", false, 100101},
	{"Clarion Housing", "", false, 100101},
	{"FirstPort", "service charge", false, 100102},
	{"", "DEB B&Q 1234 CD 4411", false, 100103},
	{"Screwfix", "", false, 100103},
	{"", "FPI FOXTONS LETTINGS RENT 12 HIGH ST", true, 1151},
	{"Jamie Smith", "rent march", true, 1151},
	{"Airbnb", "Airbnb payout", true, 1151},

	// ---- transport ----
	{"", "TFL TRAVEL CH TFL.GOV.UK/CP ON 12 MAR BCC", false, 100033},
	{"Transport for London", "", false, 100033},
	{"", "VIS STAGECOACH SERVICES", false, 100033},
	{"", "CARD PAYMENT TO TRAINLINE ON 05-04-2024", false, 100032},
	{"LNER", "", false, 100032},
	{"", "DEB AVANTI WEST COAST CD 1234", false, 100032},
	{"", "VIS NORTHERN TRAINS", false, 100032},
	{"Uber", "Uber trip", false, 100034},
	{"", "UBER *TRIP HELP.UBER.COM ON 02 APR BCC", false, 100034},
	{"Bolt", "", false, 100034},
	{"", "DEB ALPHA TAXIS CD 1234", false, 100034},
	{"RingGo", "", false, 100035},
	{"", "DEB NCP LIMITED CD 1234", false, 100035},
	{"Dart Charge", "", false, 100035},
	{"", "CARD PAYMENT TO TFL CONGESTION CHARGE ON 01-04-2024", false, 100035},
	{"", "DEB KWIK FIT 1234 CD 1234", false, 46},
	{"Halfords", "", false, 46},
	{"Enterprise Rent-A-Car", "", false, 46},

	// ---- travel ----
	{"Ryanair", "", false, 100041},
	{"", "VIS EASYJET 00001234", false, 100041},
	{"", "CARD PAYMENT TO BRITISH AIRWAYS ON 12-01-2024", false, 100041},
	{"Jet2", "", false, 100041},
	{"Premier Inn", "", false, 100042},
	{"", "VIS BOOKING.COM HOTEL", false, 100042},
	{"Airbnb", "", false, 100042},

	// ---- health ----
	{"Boots", "", false, 100051},
	{"", "DEB LLOYDS PHARMACY CD 1234", false, 100051},
	{"", "))) SUPERDRUG 1234", false, 100051},
	{"Specsavers", "", false, 100052},
	{"", "DEB MYDENTIST LTD CD 1234", false, 100052},
	{"", "VIS BOOTS OPTICIANS", false, 100052},

	// ---- employment and income ----
	{"", "ACME LTD SALARY BGC", true, 85},
	{"ACME LIMITED", "BGC", true, 85}, // a BACS credit from a company
	{"Acme Ltd", "WAGES WK 12", true, 85},
	{"", "BANK GIRO CREDIT REF NHS ENGLAND PAYROLL", true, 85},
	{"", "CR ACME PLC SAL MAR", true, 85},
	{"Acme Ltd", "Expenses claim March", true, 733},
	{"Acme Ltd", "BONUS Q1", true, 733},
	{"Deliveroo", "", true, 2547},
	{"", "FPI ROOFOODS LTD DELIVEROO RIDER", true, 2547},
	{"Uber BV", "", true, 2547},
	{"Just Eat", "", true, 2547},
	{"Amazon Flex", "", true, 2547},
	{"Freelance Agency Ltd", "ROYALTIES Q1", true, 23},
	{"Upwork", "", true, 23},

	// ---- pensions and benefits ----
	{"", "DWP SP 123456789", true, 100511},
	{"DWP", "State Pension", true, 100511},
	{"Aviva", "Pension payment", true, 100512},
	{"", "BGC LEGAL & GENERAL PENSION", true, 100512},
	{"NEST", "", true, 100512},
	{"Royal London", "", true, 100512},
	{"", "DWP UC 123456789", true, 100513},
	{"", "BANK GIRO CREDIT REF DWP UNIVERSAL CREDIT", true, 100513},
	{"HMRC", "CHB 12345678", true, 100514},
	{"", "HMRC CHILD BENEFIT", true, 100514},
	{"DWP", "PIP", true, 100515},
	{"", "DWP DLA 1234", true, 100515},
	{"", "DWP CARERS ALLOWANCE", true, 100515},
	{"", "DWP ESA 1234", true, 100516},
	{"", "DWP JSA 1234", true, 100516},
	{"", "DWP UNIVERSAL CREDIT ADVANCE", true, 117}, // an advance is a loan
	{"", "HMRC NTC 1234", true, 20},
	{"", "DWP PENSION CREDIT", true, 20},
	{"", "BGC LBH HOUSING BENEFIT", true, 20},
	{"DWP", "COST OF LIVING PAYMENT", true, 477},
	{"", "HOUSEHOLD SUPPORT FUND", true, 477},
	{"", "BGC UNIVERSITY OF LEEDS BURSARY", true, 21},
	{"Student Loans Company", "Maintenance loan", true, 117},
	{"", "SLC GRANT", true, 21},

	// ---- tax ----
	{"HMRC", "Tax refund", true, 426},
	{"", "HMRC PAYE REPAYMENT", true, 426},
	{"", "HMRC SELF ASSESSMENT", false, 100071},
	{"", "DD HACKNEY COUNCIL", false, 100072},
	{"", "DIRECT DEBIT PAYMENT TO LEEDS CITY COUNCIL REF 12345", false, 100072},
	{"", "DD LBH COUNCIL TAX", false, 100072},
	{"", "BIRMINGHAM CITY CNCL CTAX", false, 100072},
	{"Wandsworth Borough Council", "", false, 100072},
	{"", "DD DVLA-AB12CDE", false, 100074},
	{"", "DD TV LICENCE MBP", false, 100075},
	{"", "CARD PAYMENT TO TFL PCN ON 11-03-2024", false, 100073},
	{"Council", "PCN AB12345678", false, 100073},
	{"", "DD HAMMERSMITH COUNCIL GARDEN WASTE", false, 37},

	// ---- mortgages and loans ----
	{"", "DD NATIONWIDE BS MORTGAGE", false, 5239},
	{"Halifax", "Mortgage 1234567", false, 5239},
	{"", "DIRECT DEBIT PAYMENT TO SANTANDER MORTGAGE REF 1234", false, 5239},
	{"", "DD COVENTRY BS", false, 5239},
	{"Kensington Mortgages", "", false, 97},
	// The lender comes after MORTGAGE and late in the list of lender + MORTGAGE*
	// alternatives: more than 16 are seen in part (the matcher's overflow).
	{"", "SO MORTGAGE ACC 12345 CLYDESDALE", false, 5239},
	{"", "DD HALIFAX MORTGAGE PROTECTION", false, 100163},
	{"", "DD LENDING STREAM", false, 94},
	{"Satsuma Loans", "", false, 94},
	{"", "DEB MONEYBOAT CD 1234", false, 94},
	{"Everyday Loans", "", false, 94},
	{"Provident", "", false, 94},
	{"", "FPI LENDING STREAM", true, 91},
	{"Mr Lender", "Loan", true, 91},
	{"QuidMarket", "", true, 91},
	{"", "DD ZOPA LTD", false, 81},
	{"Novuna", "Personal loan", false, 81},
	{"", "DD TESCO BANK LOAN 1234", false, 81},
	{"", "FPI ZOPA LOAN 1234", true, 117},
	{"", "DD BLACK HORSE LTD", false, 100062},
	{"Moneybarn", "", false, 100062},
	{"", "DIRECT DEBIT PAYMENT TO SANTANDER CONSUMER REF 555", false, 100062},
	{"", "DD BARCLAYCARD", false, 100061},
	{"American Express", "", false, 100061},
	{"", "DD CAPITAL ONE", false, 100061},
	{"", "DD TESCO BANK", false, 100061}, // Tesco Bank is not groceries
	{"Vanquis Bank", "", false, 100061},
	{"", "DD AQUA CARD", false, 100061},
	{"Klarna", "", false, 100063},
	{"", "DEB CLEARPAY CD 1234", false, 100063},
	{"PayPal", "PayPal Pay in 3", false, 100063},
	{"Zilch", "", false, 100063},
	{"", "DD SLC RECEIPTS", false, 100064},
	{"", "LATE PAYMENT FEE", false, 562},
	{"Barclaycard", "Late fee", false, 562},

	// ---- debt recovery and bank charges ----
	{"", "DD MARSTON HOLDINGS", false, 136},
	{"Equita", "", false, 136},
	{"", "FPO BRISTOW & SUTOR REF 12345", false, 136},
	{"", "DEB JACOBS ENFORCEMENT CD 1234", false, 136},
	{"Rossendales", "Council tax", false, 136}, // a bailiff collecting council tax
	{"", "DD LOWELL FINANCIAL LTD", false, 138},
	{"Cabot Financial", "", false, 138},
	{"", "FPO INTRUM UK REF 998877", false, 138},
	{"", "DD LOWELL PORTFOLIO RE VANQUIS", false, 138},
	{"Moorcroft", "", false, 138},
	{"", "UNPAID ITEM FEE", false, 1402},
	{"", "RETURNED DD FEE", false, 1402},
	{"", "OVERDRAFT INTEREST", false, 100091},
	{"", "INTEREST CHARGED", false, 100091},
	{"", "NON-STERLING TRANSACTION FEE", false, 100091},
	{"", "CPT LNK SAINSBURYS 1234", false, 83}, // Lloyds cash point at a supermarket
	{"", "CASH WITHDRAWAL AT HSBC ATM ON 12-03-2024", false, 83},
	{"Cash machine", "ATM", false, 83},
	{"", "CASH DEPOSIT AT BRANCH", true, 19},
	{"", "DEP CHEQUE 000123", true, 100543}, // a cheque, not cash
	{"Alex Morgan", "Cash deposit", true, 19},

	// ---- transfers ----
	{"Alex Morgan", "Transfer", false, 100121},
	{"", "TFR A MORGAN", false, 100121}, // the holder's name in the info: the second stage's person test
	{"A Morgan", "Savings", false, 100121},
	{"Sam Morgan", "Transfer", false, 100122},
	{"Jo Bloggs", "Transfer", false, 714},
	{"", "FPO J BLOGGS REF DINNER", false, 714},
	{"", "FPO M S KHAN REF LUNCH", false, 714}, // initials, not M&S
	{"Isa Khan", "dinner", false, 100999},      // a name, not an ISA
	{"Alex Morgan", "", true, 100541},
	{"Sam Morgan", "", true, 100542},
	{"Jo Bloggs", "FPI", true, 100543},
	{"Jo Bloggs", "paying back", true, 100543},
	{"Monzo", "Transfer to pot", false, 100121},

	// ---- savings and investments ----
	{"", "SO NS&I PREMIUM BONDS", false, 100180},
	{"Vanguard", "", false, 100180},
	{"", "DD HARGREAVES LANSDOWN", false, 100180},
	{"Moneybox", "", false, 100180},
	{"Chip", "", false, 100180},
	{"Trading 212", "", false, 100180},
	{"", "NS&I PREMIUM BONDS PRIZE", true, 7},
	{"", "GROSS INTEREST", true, 7},
	{"", "DIVIDEND VODAFONE GROUP", true, 6},

	// ---- insurance ----
	{"", "DD ADMIRAL INSURANCE", false, 100161},
	{"Churchill", "", false, 100161},
	{"", "DD DIRECT LINE INS", false, 100160},
	{"", "DD AVIVA", false, 100160},
	{"", "DD LEGAL & GENERAL", false, 100163},
	{"Vitality", "", false, 100163},
	{"", "DD SCOTTISH WIDOWS PENSION", false, 100180}, // a pension contribution is saving
	{"", "DD HOMESERVE", false, 100162},
	{"", "BGC ADMIRAL CLAIM 12345", true, 279},
	{"Aviva", "Claim settlement", true, 279},

	// ---- family and education ----
	{"Busy Bees Nurseries", "", false, 100171},
	{"", "SO LITTLE STARS NURSERY", false, 100171},
	{"", "HMRC TAX FREE CHILDCARE", false, 100171},
	{"ParentPay", "", false, 100172},
	{"", "DD CMS CHILD MAINTENANCE", false, 137},
	{"", "BGC DWP CMS", true, 358},
	{"J Smith", "Child maintenance", true, 358},

	// ---- gambling ----
	{"", "DEB BET365 CD 1234", false, 4406},
	{"Sky Bet", "", false, 4406},
	{"", "VIS PADDY POWER", false, 4406},
	{"", "DEB WILLIAM HILL ORG CD 1234", false, 4406},
	{"Coral", "", false, 4406},
	{"Betfair", "", false, 4406},
	{"", "DEB POKERSTARS CD 1234", false, 4402},
	{"Grosvenor Casinos", "", false, 4402},
	{"Mecca Bingo", "", false, 4402},
	{"Tombola", "", false, 4402},
	{"", "DEB NATIONAL LOTTERY CD 1234", false, 4404},
	{"", "DD PEOPLES POSTCODE LOTTERY", false, 4404},
	{"Allwyn", "", false, 4404},
	{"Coral Reef Restaurant", "", false, 100141}, // not the bookmaker

	// ---- shopping ----
	{"", "AMAZON.CO.UK*2K4HS ON 12 MAR BCC", false, 100131},
	{"", "DEB AMZNMKTPLACE CD 1234", false, 100131},
	{"eBay", "", false, 100131},
	{"", "VIS PRIMARK LONDON", false, 100132},
	{"Next", "", false, 100132},
	{"", "CARD PAYMENT TO CURRYS ON 04-04-2024", false, 100133},
	{"Argos", "", false, 100134},
	{"M&S", "", false, 100134},
	{"", "VIS H&M 123 LONDON", false, 100132},
	{"John Lewis", "", false, 100134},

	// ---- eating out ----
	{"", "DEB COSTA COFFEE CD 1234", false, 100141},
	{"Pret A Manger", "", false, 100141},
	{"", "))) STARBUCKS 1234", false, 100141},
	{"Nando's", "", false, 100141},
	{"Deliveroo", "", false, 100142}, // money out: a takeaway
	{"", "DEB UBER *EATS CD 1234", false, 100142},
	{"", "VIS JUST EAT.CO.UK LTD", false, 100142},
	{"", "DEB MCDONALDS 1234 CD 1234", false, 100142},
	{"Greggs", "", false, 100142},
	{"", "DEB JD WETHERSPOON CD 1234", false, 100143},
	{"The Red Lion", "", false, 100143},
	{"", "DEB THE ADMIRAL PUB CD 1234", false, 100143}, // not the insurer
	{"Three Horseshoes", "", false, 100143},            // not the network

	// ---- leisure ----
	{"Netflix", "", false, 100151},
	{"", "DEB SPOTIFY UK CD 1234", false, 100151},
	{"", "APPLE.COM/BILL ON 01 MAR BCC", false, 100151},
	{"", "DEB AMAZON PRIME*2K4 CD 1234", false, 100151},
	{"Disney Plus", "", false, 100151},
	{"", "VIS GOOGLE YOUTUBE", false, 100151},
	{"", "DEB XBOX CD 1234", false, 100151},
	{"PureGym", "", false, 100152},
	{"", "DD THE GYM GROUP", false, 100152},
	{"David Lloyd", "", false, 100152},
	{"", "DEB ODEON CINEMAS CD 1234", false, 100153},
	{"", "VIS O2 ACADEMY BRIXTON", false, 100153}, // the venue, not the network

	// ---- charity and other ----
	{"Cancer Research UK", "", false, 100190},
	{"", "SO BRITISH HEART FOUNDATION", false, 100190},
	{"JustGiving", "", false, 100190},
	{"", "INVOICE 1234 ACME SUPPLIES LTD", false, 494},
	{"Acme Design Ltd", "INV 1234", false, 494},
	{"Unknown Shop", "", false, 100999},
	{"", "FPI ACME BUYERS", true, 100543},

	// ---- refunds and bills income ----
	{"Tesco", "Refund", true, 100550}, // money in from Tesco is not groceries
	{"Deliveroo", "Refund", true, 100550},
	{"", "AMAZON REFUND ON 12 MAR", true, 100550},
	{"Octopus Energy", "Credit refund", true, 88},
	{"", "DD UNITED UTILITIES REFUND", true, 88},
	{"", "BGC BRITISH GAS", true, 88},
	{"Jo Bloggs", "bills", true, 88},
	{"", "DD REVERSAL BRITISH GAS", true, 100550},
	{"Vodafone", "", false, 100022},
	{"", "BGC WE BUY ANY CAR", true, 100599},
}

func TestUK_Categorise(t *testing.T) {
	c := UK()
	h := NewHolders(ukHolders)
	for _, tc := range ukCases {
		got := c.Categorise(tc.partner, tc.info, tc.in, h)
		if got.ID != tc.want {
			want, _ := c.Tree().Lookup(tc.want)
			t.Errorf("Categorise(%q, %q, in=%v) = %d %s, want %d %s",
				tc.partner, tc.info, tc.in, got.ID, got.Title, tc.want, want.Title)
		}
	}
	if n := len(ukCases); n < 150 {
		t.Errorf("the table has %d cases; the spec asks for at least 150", n)
	}
}

// TestUK_TreeHasDocumentedIDs checks that every category id of
// docs/api.md#documented-category-ids is in the UK tree with its documented
// direction and, where docs/api.md gives one, its documented title; and that every id of the
// engine's own is at least FirstEngineID.
func TestUK_TreeHasDocumentedIDs(t *testing.T) {
	const in, ex = Income, Expense
	// Title "" means docs/api.md gives no title (or only an inferred one,
	// see the comments in uk_tree.txt): only the direction is checked.
	documented := []struct {
		id    int
		typ   Type
		title string
	}{
		{5, in, "Pension"},
		{6, in, "Dividends received"},
		{7, in, "Interest received"},
		{19, in, "Cash deposit"},
		{20, in, "Social security benefits"},
		{21, in, "Scholarship"},
		{22, in, ""}, // (Loans — incoming): title inferred
		{26, ex, "Groceries"},
		{29, ex, "Utility services"},
		{63, ex, "Health and pharmaceuticals"},
		{79, ex, "Loans"},
		{81, ex, "Other loans"},
		{83, ex, ""}, // cash; title not given
		{85, in, "Salary"},
		{88, in, "Bills"},
		{91, in, "Payday loans"},
		{94, ex, "Payday loans"},
		{97, ex, "Mortgage"},
		{117, in, "Other loans"},
		{136, ex, "Bailiffs"},
		{137, ex, "Alimony and child support"},
		{138, ex, "Debt collection"},
		{279, in, "Insurance indemnity"},
		{358, in, "Alimony and child support"},
		{426, in, "Tax return"},
		{467, ex, "Tax and government fees"},
		{477, in, "State aid payment"},
		{494, ex, "Invoices"},
		{562, ex, "Fines"},
		{714, ex, "Other personal transfers"},
		{733, in, "Other incoming payments from employer"},
		{919, in, "Regular income"},
		{1151, in, "Income from rent"},
		{1402, ex, "Dishonours"},
		{2547, in, "Work on Demand"},
		{4402, ex, ""},
		{4404, ex, ""},
		{4406, ex, ""},
		{5239, ex, "Loan bank"},
		// Third-party ids (2020 UK tree).
		{23, in, ""},
		{30, ex, "Heating"},
		{32, ex, "Electricity"},
		{33, ex, "Natural gas"},
		{35, ex, "Telephone, internet, TV, computer"},
		{36, ex, "Water"},
		{37, ex, "Other utility expenses"},
		{42, ex, "Transportation"},
		{44, ex, "Fuel"},
		{46, ex, "Vehicle purchase, maintenance"},
		{55, ex, "Accommodation, travel expenses"},
		{84, ex, ""},
	}
	tree := UK().Tree()
	for _, d := range documented {
		c, ok := tree.Lookup(d.id)
		if !ok {
			t.Errorf("category %d is not in the UK tree", d.id)
			continue
		}
		if c.Type != d.typ {
			t.Errorf("category %d is %s, want %s", d.id, c.Type, d.typ)
		}
		if d.title != "" && c.Title != d.title {
			t.Errorf("category %d is titled %q, want %q", d.id, c.Title, d.title)
		}
	}
	// The parents docs/api.md states or strongly implies.
	for child, parent := range map[int]int{81: 79, 91: 22, 94: 79, 97: 79, 117: 22, 5239: 97,
		30: 29, 32: 29, 33: 29, 35: 29, 36: 29, 37: 29, 44: 42, 46: 42, 84: 26} {
		if c, _ := tree.Lookup(child); c.ParentID != parent {
			t.Errorf("category %d has parent %d, want %d", child, c.ParentID, parent)
		}
	}
	known := map[int]bool{}
	for _, d := range documented {
		known[d.id] = true
	}
	for _, c := range tree.Categories() {
		if !known[c.ID] && c.ID < FirstEngineID {
			t.Errorf("category %d %q is neither documented nor an engine id (>= %d)", c.ID, c.Title, FirstEngineID)
		}
	}
}
