#!/usr/bin/env python3
"""Writes corpus.csv: labelled UK bank transactions for TestUK_Accuracy.

The transactions are written from lists of counterparties kept here, each
with the category a person reading the line would give it, and rendered
in the export styles of UK banks and fintechs (how each puts the
counterparty, the reference and its codes into the partner and info
fields, card-processor prefixes, truncation, dates and reference numbers
inside the text). The labels are decided here, by reading the line, and
never by running the categoriser.

Run once; the output is committed and is the corpus. Re-running with the
same seed writes the same file.

    python3 engine/categorise/testdata/gen_corpus.py > engine/categorise/testdata/corpus.csv
"""

import csv
import random
import sys

R = random.Random(20261123)

MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()


def day():
    return R.randint(1, 28), R.randint(1, 12), R.choice([2024, 2025, 2026])


def ddmmyyyy():
    d, m, y = day()
    return f"{d:02d}-{m:02d}-{y}"


def ddmon():
    d, m, _ = day()
    return f"{d:02d} {MONTHS[m-1]}"


def ddmonyy():
    d, m, y = day()
    return f"{d:02d}{MONTHS[m-1]}{y % 100:02d}"


def ref():
    return R.choice([str(R.randint(10000, 99999999)),
                     "".join(R.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(2)) + str(R.randint(1000, 999999))])


def card4():
    return str(R.randint(1000, 9999))


TOWNS = ["LONDON", "LEEDS", "BRISTOL", "MANCHESTER", "YORK", "NORWICH", "EXETER", "DERBY", "BATH",
         "CARDIFF", "GLASGOW", "BELFAST", "STOCKPORT", "READING", "LUTON", "TRURO", "HEXHAM", "LEWES",
         "KENDAL", "LUDLOW", "WHITBY", "OBAN", "ELY", "RIPON", "FROME", "BUXTON", "ALNWICK", "DEVIZES"]

FIRST = ["James", "Olivia", "Mohammed", "Amelia", "Noah", "Isla", "George", "Ava", "Leo", "Mia",
         "Harry", "Freya", "Oscar", "Grace", "Arthur", "Lily", "Jack", "Emily", "Priya", "Tomasz",
         "Aisha", "Callum", "Niamh", "Rhys", "Siobhan", "Kwame", "Yusuf", "Chloe", "Dylan", "Ffion",
         "Hamish", "Eilidh", "Ravi", "Zofia", "Kemi", "Liam", "Sophie", "Ethan", "Hannah", "Bilal"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Khan",
        "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
        "Kowalski", "Okafor", "Macdonald", "O'Neill", "Hughes", "Ahmed", "Campbell", "Chen", "Nowak",
        "Murphy", "Begum", "Reid", "Fraser", "Mensah", "Singh", "Lewis", "Clarke", "Ward", "Price", "Bell"]
HOLDER_FIRST, HOLDER_LAST = "Alex", "Morgan"  # the account holder of every line

WORDS = ["Old Mill", "Hillside", "Riverside", "Green Lane", "Oak Tree", "Meadow", "Church Farm",
         "Village", "Castle", "Harbour", "Station Road", "High Street", "Market", "Corner", "Valley",
         "Bridge End", "Willow", "Ashford", "Kingsway", "Priory", "Abbey", "Orchard", "Heath", "Moor"]


def person():
    return f"{R.choice(FIRST)} {R.choice(LAST)}"


def surname_owner():
    return R.choice(LAST + ["Joe", "Sam", "Raj", "Mo", "Dee", "Kaz", "Bev", "Stan"])


def indie(kind_words):
    """An independent business name ending in a business-type word."""
    style = R.random()
    w = R.choice(kind_words)
    if style < 0.35:
        return f"{surname_owner()}s {w}"
    if style < 0.7:
        return f"{R.choice(WORDS)} {w}"
    if style < 0.85:
        return f"The {R.choice(WORDS)} {w}"
    return f"{R.choice(TOWNS).title()} {w}"


# ---- counterparties: (name, category, kinds) ----------------------------
# kind: card (a card purchase), dd (direct debit), so (standing order),
# out (a payment out by transfer), in (money in by transfer), bgc (a BACS
# credit), fee (a charge the bank takes).

def brands(cat, kinds, names):
    return [(n, cat, kinds) for n in names]


EXPENSE = []
EXPENSE += brands(84, "card", ["Tesco Stores", "Tesco Express", "Sainsburys", "Sainsbury's Local", "Asda Superstore",
                               "Morrisons", "Aldi Stores", "Lidl GB", "Waitrose", "Co-op Food", "Iceland Foods",
                               "M&S Simply Food", "Ocado", "Farmfoods", "Heron Foods", "Booths Supermarket"])
EXPENSE += [(indie(["Supermarket", "Super Market", "Supermarket Ltd", "Food Store", "Grocers",
                    "Groceries", "Grocery", "Mini Supermarket", "International Foods"]), 84, "card") for _ in range(26)]
EXPENSE += [(indie(["Butchers", "Butcher", "Family Butchers", "Quality Butchers", "Master Butcher",
                    "Greengrocer", "Greengrocers", "Fruit and Veg", "Farm Shop", "Farmshop", "Fishmonger",
                    "Fishmongers", "Halal Butchers", "Deli", "Delicatessen", "Cheesemonger", "Dairy"]), 26, "card")
            for _ in range(45)]
EXPENSE += brands(100011, "card", ["Costcutter", "Spar", "Nisa Local", "One Stop", "Londis", "Premier Stores",
                                   "McColls", "Bargain Booze", "Majestic Wine"])
EXPENSE += [(indie(["Off Licence", "Newsagents", "Convenience Store", "Wines", "Local Store"]), 100011, "card")
            for _ in range(10)]
EXPENSE += brands(44, "card", ["Shell", "Esso", "BP", "Texaco", "Jet", "Gulf", "Applegreen", "Tesco PFS",
                               "Sainsburys Petrol", "Asda Petrol", "Morrisons Fuel", "MFG", "Euro Garages",
                               "Gas Station", "Tesla Supercharger", "Pod Point", "Instavolt"])
EXPENSE += [(indie(["Filling Station", "Service Station", "Petrol Station", "Gas Station", "Fuels", "Garage Fuel",
                    "Petroleum", "Fuel Stop", "Petrol", "Motor Fuels"]), 44, "card") for _ in range(30)]
EXPENSE += brands(100141, "card", ["Costa Coffee", "Starbucks", "Caffe Nero", "Pret A Manger", "Nandos", "Wagamama",
                                   "Pizza Express", "Toby Carvery", "Harvester", "Leon Restaurants"])
EXPENSE += [(indie(["Coffee", "Cafe", "Coffee House", "Tea Rooms", "Bistro", "Restaurant", "Kitchen",
                    "Coffee Co", "Espresso Bar", "Brasserie", "Trattoria", "Bakery", "Patisserie"]), 100141, "card")
            for _ in range(40)]
EXPENSE += brands(100142, "card", ["Deliveroo", "Uber Eats", "Just Eat", "Dominos Pizza", "McDonalds", "KFC",
                                   "Greggs", "Burger King", "Subway", "Papa Johns"])
EXPENSE += [(indie(["Pizza", "Kebab House", "Fish Bar", "Chippy", "Takeaway", "Chinese Takeaway",
                    "Fried Chicken", "Tandoori Takeaway", "Burger Bar", "Peri Peri"]), 100142, "card") for _ in range(25)]
EXPENSE += brands(100143, "card", ["JD Wetherspoon", "Greene King", "Brewdog", "All Bar One", "Slug and Lettuce"])
EXPENSE += [(indie(["Arms", "Tavern", "Inn", "Pub", "Brewery Tap", "Taproom", "Wine Bar", "Cocktail Bar",
                    "Social Club"]), 100143, "card") for _ in range(20)]
EXPENSE += brands(100021, "dd", ["British Gas", "Octopus Energy", "EDF Energy", "E.ON Next", "OVO Energy",
                                 "Scottish Power", "So Energy", "Utilita"])
EXPENSE += brands(36, "dd", ["Thames Water", "Severn Trent", "Anglian Water", "United Utilities", "Yorkshire Water",
                             "Southern Water", "Welsh Water", "Wessex Water", "South West Water", "Affinity Water"])
EXPENSE += brands(100022, "dd", ["Vodafone", "O2", "EE Limited", "Three", "giffgaff", "Tesco Mobile", "Sky Mobile",
                                 "Lebara", "Smarty", "Voxi", "iD Mobile"])
EXPENSE += brands(100023, "dd", ["BT Group", "Virgin Media", "Sky Digital", "TalkTalk", "Plusnet", "Hyperoptic",
                                 "Community Fibre", "Zen Internet"])
EXPENSE += brands(100072, "dd", ["Leeds City Council", "Bristol City Council", "Hackney Council", "Council Tax",
                                 "Cardiff Council Tax", "Norwich City Council", "Wiltshire Council"])
EXPENSE += brands(100075, "dd", ["TV Licence", "TV Licensing"])
EXPENSE += brands(100074, "dd", ["DVLA Vehicle Tax", "DVLA"])
EXPENSE += brands(100071, "out", ["HMRC Self Assessment", "HMRC NDDS", "HMRC"])
EXPENSE += brands(100101, "so", ["Foxtons Lettings", "Openrent", "Clarion Housing", "Peabody", "Landlord Rent",
                                 "Rent"])
EXPENSE += brands(100103, "card", ["B&Q", "Screwfix", "Wickes", "Toolstation", "Homebase"])
EXPENSE += [(indie(["Plumbing", "Electrician", "Builders", "Roofing", "Locksmiths", "Garden Centre", "Window Cleaning",
                    "Decorators"]), 100103, "out") for _ in range(12)]
EXPENSE += brands(100032, "card", ["Trainline", "LNER", "Avanti West Coast", "GWR", "Northern Trains", "ScotRail",
                                   "Southeastern", "Thameslink"])
EXPENSE += brands(100033, "card", ["TfL Travel Charge", "Transport for London", "Stagecoach", "First Bus", "Arriva",
                                   "National Express", "Metrolink", "Lothian Buses"])
EXPENSE += brands(100034, "card", ["Uber", "Bolt", "Addison Lee", "Free Now"])
EXPENSE += [(indie(["Taxis", "Cabs", "Private Hire", "Minicabs"]), 100034, "card") for _ in range(8)]
EXPENSE += brands(100035, "card", ["RingGo", "NCP", "PayByPhone", "JustPark", "Euro Car Parks", "Dart Charge",
                                   "APCOA", "Q-Park"])
EXPENSE += brands(46, "card", ["Kwik Fit", "Halfords", "Euro Car Parts", "Arnold Clark", "Enterprise Rent-A-Car"])
EXPENSE += [(indie(["Motors", "Tyres", "Car Wash", "Hand Car Wash", "Autocentre", "MOT Centre"]), 46, "card")
            for _ in range(10)]
EXPENSE += brands(100041, "card", ["Ryanair", "easyJet", "British Airways", "Jet2", "Wizz Air", "Loganair"])
EXPENSE += brands(100042, "card", ["Premier Inn", "Travelodge", "Booking.com", "Airbnb", "Holiday Inn", "Hilton"])
EXPENSE += brands(100051, "card", ["Boots", "Superdrug", "Lloyds Pharmacy", "Well Pharmacy"])
EXPENSE += [(indie(["Pharmacy", "Chemist", "Chemists"]), 100051, "card") for _ in range(10)]
EXPENSE += [(indie(["Dental Practice", "Dental Care", "Opticians", "Physiotherapy", "Dentist"]), 100052, "card")
            for _ in range(10)]
EXPENSE += brands(100052, "card", ["Specsavers", "Vision Express", "Mydentist"])
EXPENSE += brands(100131, "card", ["Amazon.co.uk", "AMZN Mktp UK", "eBay", "Etsy", "Vinted", "Temu"])
EXPENSE += brands(100132, "card", ["Primark", "Next", "Zara", "ASOS", "TK Maxx", "JD Sports", "New Look",
                                   "River Island", "Matalan", "Schuh"])
EXPENSE += brands(100133, "card", ["Currys", "Apple Store", "CEX", "Richer Sounds"])
EXPENSE += brands(100134, "card", ["Argos", "John Lewis", "Marks & Spencer", "Home Bargains", "B&M", "Poundland",
                                   "The Range", "WHSmith", "Waterstones", "IKEA", "Dunelm"])
EXPENSE += brands(100151, "card", ["Netflix", "Spotify", "Disney Plus", "Amazon Prime", "Apple.com/bill",
                                   "Google Play", "YouTube Premium", "Now TV", "Audible", "Xbox"])
EXPENSE += brands(100152, "dd", ["PureGym", "The Gym Group", "David Lloyd", "Anytime Fitness", "Virgin Active",
                                 "Everyone Active"])
EXPENSE += [(indie(["Leisure Centre", "Yoga", "Fitness", "Boxing Club", "Golf Club", "Tennis Club"]), 100152, "card")
            for _ in range(8)]
EXPENSE += brands(100153, "card", ["Ticketmaster", "Odeon", "Cineworld", "Vue Cinema", "Eventbrite", "Hollywood Bowl",
                                   "National Trust"])
EXPENSE += brands(100161, "dd", ["Admiral Insurance", "Direct Line Motor", "Hastings Direct", "Churchill Insurance",
                                 "RAC", "The AA", "Green Flag"])
EXPENSE += brands(100162, "dd", ["Homeserve", "Home Insurance", "Aviva Home"])
EXPENSE += brands(100163, "dd", ["Legal and General", "Vitality Life", "Royal London", "Bupa", "Aviva Life"])
EXPENSE += brands(100160, "dd", ["Petplan", "Animal Friends", "Aviva", "Travel Insurance"])
EXPENSE += brands(100171, "so", ["Busy Bees", "Bright Horizons", "Little Acorns Nursery", "Childminder",
                                 "After School Club"])
EXPENSE += brands(100172, "out", ["ParentPay", "Open University", "Driving Lessons", "Tuition Fees", "School Fees"])
EXPENSE += brands(100190, "dd", ["Cancer Research UK", "British Heart Foundation", "Oxfam", "RSPCA", "NSPCC",
                                 "JustGiving", "Macmillan"])
EXPENSE += brands(100180, "so", ["Vanguard", "Moneybox", "Hargreaves Lansdown", "Trading 212", "Premium Bonds",
                                 "Nutmeg", "Chip Savings", "Stocks and Shares ISA"])
EXPENSE += brands(4406, "card", ["Bet365", "Sky Bet", "Paddy Power", "William Hill", "Ladbrokes", "Betfair", "Coral",
                                 "Betfred"])
EXPENSE += brands(4402, "card", ["PokerStars", "Gala Bingo", "Mecca Bingo", "888 Casino", "Grosvenor Casino"])
EXPENSE += brands(4404, "card", ["National Lottery", "Peoples Postcode Lottery", "Omaze"])
# Loans and credit
EXPENSE += brands(5239, "dd", ["Nationwide BS Mortgage", "Halifax Mortgage", "Santander Mortgage",
                               "Barclays Mortgage", "NatWest Mortgage", "Coventry BS Mortgage", "Yorkshire BS Mortgage",
                               "Skipton BS Mortgage", "Leeds BS Mortgage", "Principality BS Mortgage",
                               "Nottingham BS Mortgage", "Newcastle BS Mtg", "Cumberland BS Mortgage",
                               "Virgin Money Mortgage", "TSB Mortgage", "HSBC Mortgage", "Loan Bank Mortgage",
                               "Accord Mortgages", "BM Solutions", "The Mortgage Works", "Platform Home Loans",
                               "Furness BS Mortgage", "Monmouthshire BS Mortgage", "Tipton BS Mortgage",
                               "Hinckley and Rugby BS Mortgage", "Darlington Bldg Soc Mortgage",
                               "Marsden Building Society Mortgage", "Ecology BS Mortgage",
                               "Market Harborough BS Mtge", "Mansfield BS Mortgage"])
EXPENSE += brands(97, "dd", ["Kensington Mortgages", "Pepper Money", "Together Money", "Mortgage Payment",
                             "Foundation Home Loans", "Landmark Mortgages", "Bluestone Mortgages"])
EXPENSE += brands(94, "dd", ["Lending Stream", "Moneyboat", "Drafty", "Mr Lender", "Polar Credit", "Fernovo",
                             "Cashfloat", "QuidMarket", "Likely Loans", "Wageday Advance", "Peachy Loans",
                             "Satsuma Loans", "Sunny Loans", "Uncle Buck", "Myjar", "Cash ASAP", "Loans 2 Go",
                             "Bamboo Loans", "Oakam", "Provident", "Everyday Loans", "Shelby Finance",
                             "PiggyBank Loans", "The Money Platform", "247 Moneybox"])
EXPENSE += brands(100063, "card", ["Klarna", "Clearpay", "Laybuy", "PayPal Pay in 3", "Zilch", "Klarna*ASOS",
                                   "Clearpay*Schuh", "Klarna Bank AB", "PayPal Pay Later", "Very Pay",
                                   "Littlewoods", "JD Williams", "Laybuy Holdings", "Paypal Credit", "Openpay"])
EXPENSE += brands(81, "dd", ["Zopa Loan", "Novuna Personal Finance", "Loan Repayment", "Hitachi Personal Finance",
                             "Lendable", "Creation Finance", "Salary Finance", "Plend", "Fair Finance",
                             "Leeds Credit Union", "Moneyline Credit Union", "Tesco Bank Loan",
                             "1plus1 Loans", "Guarantor My Loan", "Personal Loan"])
EXPENSE += brands(100061, "dd", ["Barclaycard", "American Express", "Capital One", "Vanquis", "Aqua Card", "MBNA",
                                 "Tesco Bank", "NewDay", "Fluid Card", "Marbles Card"])
EXPENSE += brands(100062, "dd", ["Black Horse", "Santander Consumer Finance", "Close Brothers Motor Finance",
                                 "Moneybarn", "MotoNovo Finance", "VW Financial Services", "BMW Financial Services"])
EXPENSE += brands(100064, "dd", ["Student Loans Company", "SLC Repayment"])
EXPENSE += brands(136, "out", ["Marston Holdings", "Equita", "Jacobs Enforcement", "Rossendales", "Newlyn",
                               "Bristow and Sutor"])
EXPENSE += brands(138, "out", ["Lowell Financial", "Cabot Financial", "Intrum", "Moorcroft", "PRA Group",
                               "Capquest", "Wescot", "BW Legal"])
EXPENSE += brands(137, "so", ["Child Maintenance Service", "CMS Collection", "Child Support"])
EXPENSE += brands(83, "atm", ["ATM"])
EXPENSE += brands(100190, "card", ["Salvation Army", "Air Ambulance"])

# Penalties and fines charged by a merchant, and lenders' fees: the words
# of the penalty win over the merchant's own category.
FINES = [
    ("TFL PENALTY CHARGE", 100073), ("PCN HACKNEY COUNCIL", 100073), ("PARKINGEYE LTD PCN", 100073),
    ("EURO CAR PARKS PCN", 100073), ("NCP PENALTY CHARGE", 100073), ("RINGGO PENALTY", 100073),
    ("NORTHERN PENALTY FARE", 100073), ("GWR PENALTY FARE", 100073), ("SOUTHERN RAIL PENALTY FARE", 100073),
    ("LEEDS CC PARKING FINE", 100073), ("HMCTS FINE", 100073), ("COURT FINE MAGISTRATES", 100073),
    ("DVLA LATE LICENSING PENALTY", 100073), ("UKPC PARKING CHARGE", 100073), ("BUS LANE PENALTY", 100073),
    ("CIVIL ENFORCEMENT LTD", 100073), ("HMRC LATE FILING PENALTY", 100073), ("ULEZ PENALTY CHARGE", 100073),
    ("EXCEL PARKING PCN", 100073), ("BRISTOL CC PENALTY", 100073), ("FIXED PENALTY NOTICE", 100073),
    ("BARCLAYCARD LATE PAYMENT FEE", 562), ("VANQUIS LATE FEE", 562), ("CAPITAL ONE OVERLIMIT FEE", 562),
    ("AQUA LATE PAYMENT CHARGE", 562), ("KLARNA LATE FEE", 562), ("MBNA DEFAULT FEE", 562),
    ("AMEX LATE PAYMENT FEE", 562), ("CLEARPAY LATE FEE", 562), ("ZOPA MISSED PAYMENT FEE", 562),
    ("NEWDAY ARREARS FEE", 562), ("LENDING STREAM LATE FEE", 562), ("MONEYBARN ARREARS CHARGE", 562),
]
# Charges the bank takes: returned and unpaid items, many abbreviated.
FEES = [
    ("UNPAID ITEM FEE", 1402), ("UNPAID ITEM CHARGE", 1402), ("UNPD ITEM FEE", 1402), ("UNPD DD CHG", 1402),
    ("RETURNED DD FEE", 1402), ("RETURNED D/D FEE", 1402), ("RTN DD FEE", 1402), ("RTD ITEM CHG", 1402),
    ("RETD ITEM FEE", 1402), ("RETURNED ITEM CHARGE", 1402), ("UNPAID DIRECT DEBIT FEE", 1402),
    ("UNPAID S/O FEE", 1402), ("REFER TO DRAWER CHQ FEE", 1402), ("DISHONOURED PAYMENT FEE", 1402),
    ("RTND PAYMENT FEE", 1402), ("RETURNED PYMT FEE", 1402), ("UNPAID TRANSACTION FEE", 1402),
    ("RETURNED CHQ CHARGE", 1402), ("UNPD CHQ FEE", 1402), ("RET DD CHARGE", 1402), ("UNPAID ITM FEE", 1402),
    ("RTN ITEM FEE", 1402), ("RETURNED STANDING ORDER FEE", 1402),
    ("OVERDRAFT FEE", 100091), ("OVERDRAFT INTEREST", 100091), ("ARRANGED OD INTEREST", 100091),
    ("MONTHLY ACCOUNT FEE", 100091), ("NON-STERLING TRANSACTION FEE", 100091), ("ACCOUNT FEE", 100091),
    ("DEBIT INTEREST", 100091), ("CLUB LLOYDS FEE", 100091), ("PLAN FEE", 100091), ("CASH WITHDRAWAL FEE", 100091),
    ("UNARRANGED OVERDRAFT CHARGE", 100091), ("PACKAGED ACCOUNT FEE", 100091),
]

INCOME = []
EMPLOYERS = ["Hartley Engineering Ltd", "Acme Widgets Ltd", "Northern Logistics Limited", "Bright Minds Academy Trust",
             "Leeds Teaching Hospitals", "Greenfield Foods PLC", "Castle Care Homes Ltd", "Riverside Dental Ltd",
             "Apex Recruitment Ltd", "Tower Hamlets Council", "Job Ltd", "Morgan Stanley UK", "Babcock Intl Group",
             "Pennine Builders Ltd", "Sunrise Nursery Ltd", "Kingfisher Retail PLC", "Blue Sky Solutions Ltd",
             "NHS Business Services", "University of York", "Harrow Cleaning Services Ltd", "Meridian Software LLP",
             "Oak Tree Veterinary Ltd", "Crown Hotels Ltd", "Sterling Security Ltd", "Atlas Haulage Ltd"]
PAYWORDS_AFTER = ["SALARY", "SAL", "WAGES", "PAYROLL", "NET PAY", "PAY", "MONTHLY PAY", "WEEKLY PAY", "PAY {M}",
                  "SALARY {M}", "WAGES WK {W}", "PAYROLL {R}", "PAY REF {R}", "SAL {M} {Y}"]
PAYWORDS_BEFORE = ["SALARY", "WAGES", "PAYROLL", "PAY", "NET PAY", "SALARY FROM", "WAGES FROM", "PAY FROM"]
INCOME += brands(2547, "in", ["Deliveroo", "Uber BV", "Just Eat", "Amazon Flex", "Stuart Delivery", "Evri",
                              "Roofoods Ltd", "Indeed Flex", "Syft", "Uber Eats"])
INCOME += brands(23, "in", ["Upwork", "Fiverr", "PeoplePerHour", "PRS for Music", "Amazon KDP", "Google AdSense",
                            "Patreon", "Freelance Agency Ltd Royalties", "Invoice 1042", "Inv 2231 Consulting"])
INCOME += brands(100513, "bgc", ["DWP UC", "Universal Credit", "DWP Universal Credit"])
INCOME += brands(100514, "bgc", ["HMRC Child Benefit", "Child Benefit", "HMRC CHB"])
INCOME += brands(100515, "bgc", ["DWP PIP", "DWP Carers Allowance", "DWP DLA", "Attendance Allowance"])
INCOME += brands(100516, "bgc", ["DWP JSA", "DWP ESA", "New Style JSA"])
INCOME += brands(100511, "bgc", ["DWP State Pension", "DWP SP", "State Pension"])
INCOME += brands(100512, "bgc", ["Aviva Pension", "Nest Pensions", "Teachers Pensions", "NHS Pensions",
                                 "Royal London Pension", "Scottish Widows Pension", "Legal and General Annuity",
                                 "Civil Service Pension", "Local Government Pension Scheme", "Standard Life Pension"])
INCOME += brands(6, "in", ["Dividend", "HL Dividend", "Equiniti Dividend", "Computershare Div", "Final Dividend",
                           "Interim Dividend", "Vanguard Dividend", "Dividend Payment", "BT Group PLC Dividend",
                           "Lloyds Banking Group Div", "Tesco PLC Final Div", "Unilever PLC Div", "Aviva PLC Dividend",
                           "Shell PLC Dividend", "Legal and General Div", "National Grid Div", "Barclays PLC Dividend",
                           "Trading 212 Dividend", "Freetrade Dividend", "AJ Bell Div", "Sainsburys PLC Div",
                           "Halma Div", "Rio Tinto Div", "SSE PLC Dividend", "GSK Div Payment", "Vodafone Group Div",
                           "Interactive Investor Dividend"])
INCOME += brands(7, "in", ["Interest", "Gross Interest", "Credit Interest", "Interest Paid", "Bonus Interest"])
INCOME += brands(100550, "in", ["Amazon Refund", "ASOS Refund", "Refund", "Tesco Refund", "Booking.com Refund",
                                "Ryanair Refund", "Next Refund", "eBay Refund", "Topcashback", "Quidco"])
INCOME += brands(426, "bgc", ["HMRC Tax Refund", "HMRC Repayment", "HMRC P800"])
INCOME += brands(1151, "in", ["Rent", "Room Rent", "Lodger Rent", "Foxtons Lettings Rent", "Airbnb Payout"])
INCOME += brands(91, "in", ["Lending Stream", "Moneyboat", "Drafty", "Mr Lender", "Polar Credit", "Fernovo",
                            "Cashfloat", "QuidMarket", "Likely Loans", "Peachy Loans", "Satsuma Loans"])
INCOME += brands(117, "in", ["Zopa Loan", "Novuna Personal Finance", "Student Finance", "SLC", "Lendable Loan",
                             "Leeds Credit Union Loan", "Loan Drawdown"])
INCOME += brands(19, "cashin", ["Cash Deposit"])
INCOME += brands(358, "so", ["Child Maintenance", "CMS", "Maintenance"])
INCOME += brands(88, "in", ["Octopus Energy Credit", "British Gas Refund", "Thames Water Refund", "House Bills"])
INCOME += brands(279, "in", ["Admiral Claim", "Direct Line Claim", "Insurance Claim", "Aviva Claim Payment"])

# ---- bank styles -------------------------------------------------------------
# Each returns (partner, info) for a kind of transaction and a counterparty.


def up(s):
    return s.upper()


def trunc(s, n):
    return s[:n]


PROCESSORS = ["SQ *", "SUMUP *", "ZTL*", "IZ *", "PAYPAL *", "SQ*", "SumUp  *", "iZ *", "ZETTLE_*", "CRV*"]


def card_name(name, cat, width):
    """The descriptor of a card purchase: brands as they are, independent
    businesses often behind a processor prefix, cut to width."""
    independent = not any(name == b[0] for b in EXPENSE if b[1] == cat and b[0][0].isupper() and " " not in b[0])
    n = up(name).replace("'", "")
    if cat in (26, 84, 44, 100141, 100142, 100143, 100011, 100051, 100052, 100152, 100034, 46) and R.random() < 0.5 \
            and not any(name == b[0] for b in BRAND_NAMES):
        n = R.choice(PROCESSORS) + n
    return trunc(n, width)


BRAND_NAMES = []


def barclays(kind, name, cat):
    if kind == "card":
        return "", f"{card_name(name, cat, 18)} ON {ddmon()} BCC"
    if kind == "dd":
        return "", f"{trunc(up(name), 18)} {ref()} DDR"
    if kind == "so":
        return "", f"{trunc(up(name), 18)} {ref()} STO"
    if kind == "out":
        return "", f"{trunc(up(name), 18)} {ref()} FT"
    if kind in ("in", "bgc", "cashin"):
        return "", f"{trunc(up(name), 18)} {ref()} {'BGC' if kind == 'bgc' else 'FT'}"
    if kind == "atm":
        return "", f"CASH {R.choice(TOWNS)} ON {ddmon()} CPM"
    if kind == "fee":
        return "", up(name)


def hsbc(kind, name, cat, fd=False):
    if kind == "card":
        return "", f"{R.choice(['VIS', ')))', 'VIS'])} {card_name(name, cat, 22)}"
    if kind == "dd":
        return "", f"DD {up(name)}"
    if kind == "so":
        return "", f"SO {up(name)} {ref()}"
    if kind == "out":
        return "", f"BP {up(name)} {ref()}"
    if kind in ("in", "bgc"):
        return "", f"CR {up(name)} {ref()}"
    if kind == "cashin":
        return "", f"CR CASH PAID IN {R.choice(TOWNS)}"
    if kind == "atm":
        return "", f"ATM CASH {R.choice(TOWNS)} {ddmonyy()}"
    if kind == "fee":
        return "", up(name)


def lloyds(kind, name, cat):
    if kind == "card":
        return "", f"DEB {card_name(name, cat, 22)} CD {card4()}"
    if kind == "dd":
        return "", f"DD {up(name)} {ref()}"
    if kind == "so":
        return "", f"SO {up(name)} {ref()}"
    if kind == "out":
        return "", f"FPO {up(name)} {ref()} {ddmmyyyy()[:5].replace('-', '')}"
    if kind == "in":
        return "", f"FPI {up(name)} {ref()}"
    if kind == "bgc":
        return "", f"BGC {up(name)} {ref()}"
    if kind == "cashin":
        return "", f"DEP CASH {R.choice(TOWNS)}"
    if kind == "atm":
        return "", f"CPT LNK {R.choice(TOWNS)} CD {card4()} {ddmonyy()}"
    if kind == "fee":
        return "", f"FEE {up(name)}"


def natwest(kind, name, cat):
    if kind == "card":
        return "", f"{card4()} {ddmonyy()} C , {card_name(name, cat, 22)} , {R.choice(TOWNS)} GB"
    if kind == "dd":
        return "", f"D/D {up(name)} {ref()}"
    if kind == "so":
        return "", f"S/O {up(name)}"
    if kind == "out":
        return "", f"OTR {up(name)} {ref()} VIA MOBILE - PYMT"
    if kind in ("in", "bgc"):
        return "", f"BAC {up(name)} , {ref()} , FP {ddmonyy()[:5]} 1234"
    if kind == "cashin":
        return "", f"CDM {R.choice(TOWNS)} CASH DEPOSIT"
    if kind == "atm":
        return "", f"C/L {card4()} {ddmonyy()} {R.choice(TOWNS)} CASH"
    if kind == "fee":
        return "", f"CHG {up(name)}"


def santander(kind, name, cat):
    if kind == "card":
        return "", f"CARD PAYMENT TO {card_name(name, cat, 22)},{R.randint(2, 99)}.{R.randint(0, 99):02d} GBP, RATE 1.00/GBP, ON {ddmmyyyy()}"
    if kind == "dd":
        return "", f"DIRECT DEBIT PAYMENT TO {up(name)} REF {ref()}, MANDATE NO {R.randint(1, 99)}"
    if kind == "so":
        return "", f"STANDING ORDER VIA FASTER PAYMENT TO {up(name)} REFERENCE {ref()} , MANDATE NO {R.randint(1, 40)}"
    if kind == "out":
        return "", f"BILL PAYMENT VIA FASTER PAYMENT TO {up(name)} REFERENCE {ref()} , MANDATE NO {R.randint(1, 40)}"
    if kind == "in":
        return "", f"FASTER PAYMENTS RECEIPT REF {ref()} FROM {up(name)}"
    if kind == "bgc":
        return "", f"BANK GIRO CREDIT REF {up(name)}, {ref()}"
    if kind == "cashin":
        return "", f"CASH PAID IN AT {R.choice(TOWNS)} BRANCH"
    if kind == "atm":
        return "", f"CASH WITHDRAWAL AT {R.choice(['NOTEMACHINE', 'LINK', 'SANTANDER'])} {R.choice(TOWNS)}, ON {ddmmyyyy()}"
    if kind == "fee":
        return "", f"{up(name)}"


def nationwide(kind, name, cat):
    t = {"card": R.choice(["Contactless Payment", "Visa purchase"]), "dd": "Direct debit", "so": "Standing order",
         "out": "Payment to", "in": "Transfer from", "bgc": "Bank credit", "cashin": "Cash credit",
         "atm": "Cash withdrawal", "fee": "Charge"}[kind]
    if kind == "card":
        return card_name(name, cat, 22), t
    if kind == "atm":
        return f"{R.choice(['LINK', 'NATIONWIDE'])} {R.choice(TOWNS)}", t
    if kind == "cashin":
        return f"{R.choice(TOWNS)} BRANCH", "Cash credit"
    return up(name) if kind != "in" else name, t if kind != "bgc" else f"Bank credit {name}"


def app_bank(kind, name, cat, bank):
    """Monzo, Starling, Revolut, Chase, Metro-style apps: a clean
    counterparty as the partner, the reference (often empty) as info."""
    if kind == "card":
        if R.random() < 0.5:
            return name, ""
        return name, card_name(name, cat, 22) + " " + R.choice(TOWNS) + " GBR"
    if kind == "atm":
        return "", f"Cash at {R.choice(['Post Office', 'Sainsburys', 'Notemachine'])} {R.choice(TOWNS).title()}"
    if kind in ("dd", "so"):
        return name, R.choice(["", ref(), "Direct Debit", "Standing order"])
    if kind == "out":
        return name, R.choice(["", ref()])
    if kind in ("in", "bgc", "cashin"):
        return name, R.choice(["", ref(), "Faster Payment"])
    if kind == "fee":
        return bank, name.title()


def revolut(kind, name, cat):
    if kind == "card":
        return "", name
    if kind == "out":
        return "", f"To {up(name) if R.random() < 0.3 else name}"
    if kind in ("in", "bgc"):
        return "", R.choice(["Payment from ", "Transfer from "]) + name
    if kind in ("dd", "so"):
        return "", name
    if kind == "atm":
        return "", f"Cash withdrawal at {R.choice(TOWNS).title()}"
    if kind == "cashin":
        return "", "Cash deposit"
    if kind == "fee":
        return "", name.title()


def metro(kind, name, cat):
    t = {"card": "Card Purchase", "dd": "Direct Debit", "so": "Standing Order", "out": "Faster Payment Out",
         "in": "Faster Payment In", "bgc": "Bacs Credit", "cashin": "Cash Deposit", "atm": "ATM Withdrawal",
         "fee": "Fee"}[kind]
    if kind == "card":
        return "", f"{t} {card_name(name, cat, 22)}"
    if kind == "atm":
        return "", f"{t} {R.choice(TOWNS)}"
    return "", f"{t} {up(name)} {ref() if kind != 'fee' else ''}".strip()


def coop(kind, name, cat):
    if kind == "card":
        return "", f"POS {card_name(name, cat, 22)} {ddmonyy()}"
    if kind == "dd":
        return "", f"DD {up(name)}"
    if kind == "so":
        return "", f"STO {up(name)}"
    if kind == "out":
        return "", f"TFR {up(name)} {ref()}"
    if kind in ("in", "bgc"):
        return "", f"CREDIT {up(name)} {ref()}"
    if kind == "cashin":
        return "", "CASH CREDIT BRANCH"
    if kind == "atm":
        return "", f"LINK ATM {R.choice(TOWNS)}"
    if kind == "fee":
        return "", up(name)


def virgin(kind, name, cat):
    t = {"card": "CARD PURCHASE", "dd": "DIRECT DEBIT", "so": "STANDING ORDER", "out": "FASTER PAYMENT SENT",
         "in": "FASTER PAYMENT RECEIVED", "bgc": "BACS CREDIT", "cashin": "CASH DEPOSIT", "atm": "CASH WITHDRAWAL",
         "fee": "CHARGE"}[kind]
    if kind == "card":
        return "", f"{t} {card_name(name, cat, 22)} {ddmmyyyy()}"
    if kind == "atm":
        return "", f"{t} {R.choice(TOWNS)}"
    return "", f"{t} {up(name)} {ref() if kind != 'fee' else ''}".strip()


def chase(kind, name, cat):
    if kind == "out":
        return name, f"Payment to {name}"
    if kind in ("in", "bgc"):
        return name, f"Payment from {name}"
    return app_bank(kind, name, cat, "Chase")


def wise(kind, name, cat):
    if kind == "card":
        return "", f"Card transaction of {R.randint(2, 90)}.{R.randint(0, 99):02d} GBP issued by {card_name(name, cat, 22)} {R.choice(TOWNS)}"
    if kind == "out":
        return name, f"Sent money to {name}"
    if kind in ("in", "bgc"):
        return name, f"Received money from {name} with reference {ref()}"
    if kind in ("dd", "so"):
        return name, f"Direct debit payment to {name}"
    if kind == "atm":
        return "", f"Cash withdrawal of {R.randint(10, 200)}.00 GBP at {R.choice(TOWNS)}"
    if kind == "fee":
        return "Wise", name.title()
    return name, ""


def tsb(kind, name, cat):
    p, i = lloyds(kind, name, cat)
    if kind == "card":
        i = f"{card_name(name, cat, 22)} CD {card4()} {ddmonyy()}"
    return p, i


BANKS = {
    "barclays": barclays, "hsbc": hsbc, "lloyds": lloyds, "halifax": lloyds, "natwest": natwest,
    "santander": santander, "nationwide": nationwide, "first-direct": lambda k, n, c: hsbc(k, n, c, fd=True),
    "monzo": lambda k, n, c: app_bank(k, n, c, "Monzo"), "starling": lambda k, n, c: app_bank(k, n, c, "Starling"),
    "revolut": revolut, "tsb": tsb, "metro": metro, "co-op": coop, "virgin-money": virgin, "chase-uk": chase,
    "wise": wise,
}


def amount(cat, incoming):
    a = R.choice([R.randint(150, 2500), R.randint(1000, 15000), R.randint(2000, 80000)]) / 100
    return f"{a:.2f}" if incoming else f"-{a:.2f}"


def main():
    rows = []
    banks = list(BANKS)

    def emit(bank, kind, name, cat, incoming):
        p, i = BANKS[bank](kind, name, cat)
        rows.append((bank, p, i, amount(cat, incoming), cat))

    for i, (name, cat, kind) in enumerate(EXPENSE):
        for b in R.sample(banks, 2 if cat not in (83,) else 6):
            emit(b, kind, name, cat, False)
    for name, cat in FINES:
        emit(R.choice(banks), "dd" if R.random() < 0.5 else "card", name, cat, False)
    for name, cat in FEES:
        emit(R.choice(banks), "fee", name, cat, False)
    for name, cat, kind in INCOME:
        for b in R.sample(banks, 2):
            emit(b, kind, name, cat, True)
    # Payroll: the pay word after, apart from, or before the employer.
    for emp in EMPLOYERS:
        for b in R.sample(banks, 3):
            m, y, w, r = R.choice(MONTHS), R.choice(["24", "25", "26"]), R.randint(1, 52), ref()
            word = R.choice(PAYWORDS_AFTER).format(M=m, Y=y, W=w, R=r)
            style = R.random()
            fn = BANKS[b]
            if b in ("monzo", "starling", "chase-uk", "wise", "nationwide") and style < 0.6:
                rows.append((b, emp, word, amount(85, True), 85))
            elif style < 0.3:
                before = R.choice(PAYWORDS_BEFORE)
                p, i = fn("bgc", f"{before} {emp}", 85)
                rows.append((b, p, i, amount(85, True), 85))
            else:
                p, i = fn("bgc", emp, 85)
                rows.append((b, p, f"{i} {word}".strip() if p == "" else (i + " " + word).strip(), amount(85, True), 85))
    # Person to person, both directions; to and from the holder's own
    # accounts and relatives.
    for _ in range(70):
        b = R.choice(banks)
        n = person()
        rows.append((b, *BANKS[b]("out", n, 714), amount(714, False), 714))
    for _ in range(70):
        b = R.choice(banks)
        n = person()
        rows.append((b, *BANKS[b]("in", n, 100543), amount(100543, True), 100543))
    for _ in range(16):
        b = R.choice(banks)
        own = R.choice([f"{HOLDER_FIRST} {HOLDER_LAST}", f"A {HOLDER_LAST}", f"Mr {HOLDER_FIRST} {HOLDER_LAST}",
                        f"{HOLDER_LAST} {HOLDER_FIRST}"])
        if R.random() < 0.5:
            rows.append((b, *BANKS[b]("out", own, 100121), amount(0, False), 100121))
        else:
            rows.append((b, *BANKS[b]("in", own, 100541), amount(0, True), 100541))
    for _ in range(12):
        b = R.choice(banks)
        rel = f"{R.choice(FIRST)} {HOLDER_LAST}"
        if R.random() < 0.5:
            rows.append((b, *BANKS[b]("out", rel, 100122), amount(0, False), 100122))
        else:
            rows.append((b, *BANKS[b]("in", rel, 100542), amount(0, True), 100542))

    seen = set()
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["bank", "partner", "info", "amount", "category"])
    for r in rows:
        key = r[:3]
        if key in seen:
            continue
        seen.add(key)
        w.writerow(r)


BRAND_NAMES = [b for b in EXPENSE if not any(x in b[0] for x in ("s ", "The "))]
if __name__ == "__main__":
    main()
