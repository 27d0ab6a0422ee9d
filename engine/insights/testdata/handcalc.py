#!/usr/bin/env python3
"""Hand calculation of the engine's insights, independent of the Go code.

It reads a categorisation as `ledgerform categorise --json` prints it (the
categoriser's output: every transaction with its category id) and the UK
category tree, and applies the definitions of the package doc of
engine/insights with exact fractions. It writes the expected products as
JSON and, beside them, the arithmetic in Markdown.

    go run . categorise --json examples/statements/X.json > /tmp/X.cat.json
    python3 engine/insights/testdata/handcalc.py /tmp/X.cat.json \\
        engine/categorise/uk_tree.txt engine/insights/testdata/X \\
        --statement examples/statements/X.json

Options: --period N, --currency CODE, --drop-joint, --drop-shared, --statement FILE
(the statement itself, whose declared period_start and period_end the
categorisation no longer shows).
"""

import argparse
import datetime as dt
import json
from fractions import Fraction as F

RATES = {"GBP": 10000, "EUR": 8500, "USD": 7500, "CHF": 9000, "DKK": 1140,
         "SEK": 720, "NOK": 700, "PLN": 2000, "CZK": 340, "JPY": 50}
INCOME_DEF = [5, 6, 7, 19, 20, 21, 85, 88, 279, 358, 426, 477, 733, 919, 1151, 2547]
EXPENSE_DEF = [26, 29, 63, 97, 137, 467, 494]


def rnd(x, places):
    """x rounded half away from zero to `places` decimals, as a Fraction."""
    x = F(x) * 10 ** places
    sign = -1 if x < 0 else 1
    q = int(abs(x) + F(1, 2))  # floor of |x| + 1/2
    return F(sign * q, 10 ** places)


def num(x, places):
    """A JSON number with `places` decimals (None stays None)."""
    if x is None:
        return None
    r = rnd(x, places)
    return float(r) if places else int(r)


def cents_str(c):
    s = "-" if c < 0 else ""
    c = abs(int(c))
    return f"{s}{c // 100}.{c % 100:02d}"


def to_cents(amount):
    # amounts in the categorisation have two decimals
    return int(rnd(F(str(amount)), 2) * 100)


def read_tree(path):
    parent, title = {}, {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split()
        cid = int(f[0])
        parent[cid] = None if f[1] == "-" else int(f[1])
        title[cid] = " ".join(f[3:])
    return parent, title


def month_key(d):
    return f"{d.year:04d}-{d.month:02d}"


def next_month(y, m):
    return (y + 1, 1) if m == 12 else (y, m + 1)


def last_day(y, m):
    ny, nm = next_month(y, m)
    return dt.date(ny, nm, 1) - dt.timedelta(days=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cat")
    ap.add_argument("tree")
    ap.add_argument("out")
    ap.add_argument("--period", type=int, default=0)
    ap.add_argument("--currency", default="GBP")
    ap.add_argument("--drop-joint", action="store_true")
    ap.add_argument("--drop-shared", action="store_true")
    ap.add_argument("--statement", help="the statement file, for the period each account declares")
    args = ap.parse_args()

    parent, title = read_tree(args.tree)

    def ancestors(c):
        out = []
        while c is not None:
            out.append(c)
            c = parent.get(c)
        return out

    def nearest(c, ids):
        for a in ancestors(c):
            if a in ids:
                return a
        return None

    def under(c, root):
        return root in ancestors(c)

    md = []  # the arithmetic, in Markdown
    P = md.append
    name = args.out.rsplit("/", 1)[-1]
    P(f"# {name}: the arithmetic behind {name}.expected.json")
    P("")
    P("Written by `handcalc.py` (this directory) from the categoriser's output "
      "(`go run . categorise --json`), the category tree `engine/categorise/uk_tree.txt` and the "
      "definitions of the package doc of engine/insights, with exact fractions; it shares no code with "
      "the Go implementation. Options: " + (" ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                                                   if k not in ("cat", "tree", "out") and v) or "none") + ".")
    P("Amounts are in the output currency; ratios and trends are rounded to 4 decimals, money to the cent, "
      "both half away from zero.")
    P("")

    cat = json.load(open(args.cat, encoding="utf-8"))
    cur = args.currency
    ledgers = []
    for acc in cat["accounts"]:
        if args.drop_joint and acc.get("is_joint_ownership"):
            continue
        if args.drop_shared and acc.get("is_shared_ownership"):
            continue
        for c in acc["currencies"]:
            ledgers.append((acc, c))

    def conv(cents, code):
        if code == cur:
            return cents
        return int(rnd(F(cents * RATES[code], RATES[cur]), 0))

    # --- the statement's days and the months. The categorisation's
    # period_start and period_end are its transactions' first and last
    # dates; the period the statement declares (--statement) widens them.
    declared = {}
    if args.statement:
        for a in json.load(open(args.statement, encoding="utf-8"))["account_list"]:
            declared.setdefault(a.get("account_nr"), []).extend(
                a[k] for k in ("period_start", "period_end") if a.get(k))
    days = []
    for acc, c in ledgers:
        for k in ("period_start", "period_end"):
            if acc.get(k):
                days.append(dt.date.fromisoformat(acc[k]))
        days.extend(dt.date.fromisoformat(d) for d in declared.get(acc.get("account_number"), []))
        for t in c["transactions"]:
            days.append(dt.date.fromisoformat(t["date"]))
    start, end = min(days), max(days)
    complete = []
    y, m = start.year, start.month
    while dt.date(y, m, 1) <= end:
        if dt.date(y, m, 1) >= start and last_day(y, m) <= end:
            complete.append((y, m))
        y, m = next_month(y, m)
    window = complete[-args.period:] if args.period else complete
    n = len(window)
    wkeys = [f"{y:04d}-{m:02d}" for y, m in window]
    lim_day = end + dt.timedelta(days=1)
    lim = month_key(lim_day)
    span_start = dt.date(window[0][0], window[0][1], 1) if n else dt.date(lim_day.year, lim_day.month, 1)

    P(f"Statement: {start} to {end} (the last day, 'today' for every days-since figure).")
    P(f"Complete months: {', '.join(f'{y:04d}-{m:02d}' for y, m in complete) or 'none'}.")
    P(f"Window (n = {n}): {', '.join(wkeys) or 'none'}. Last incomplete month: {lim}. "
      f"Event span: {span_start} to {end}.")
    P(f"Output currency {cur}; rates (1/10000 GBP): " +
      ", ".join(f"{c['code']} {RATES[c['code']]}" for _, c in ledgers) + ".")
    P("")

    # --- every transaction, converted
    txs = []
    for acc, c in ledgers:
        for t in c["transactions"]:
            d = dt.date.fromisoformat(t["date"])
            txs.append({"date": d, "cents": conv(to_cents(t["amount"]), c["code"]),
                        "cat": t["category_id"], "partner": t.get("partner") or "",
                        "info": t.get("info") or "", "month": month_key(d)})
    inwin = [t for t in txs if t["month"] in wkeys]
    span = [t for t in txs if span_start <= t["date"] <= end]
    tail = [t for t in span if t["month"] not in wkeys]

    def monthly(pred, pos=True):
        tot = {k: 0 for k in wkeys}
        for t in inwin:
            if pred(t):
                tot[t["month"]] += t["cents"] if pos else -t["cents"]
        return [tot[k] for k in wkeys]

    def show(name, ys):
        P(f"- {name}: " + ", ".join(f"{k} {cents_str(v)}" for k, v in zip(wkeys, ys)) +
          f"; total {cents_str(sum(ys))}")

    def trend(ys):
        if len(ys) < 2 or sum(ys) == 0:
            return None
        nn = len(ys)
        w = [2 if i >= nn - 3 else 1 for i in range(nn)]
        sw = sum(w)
        swx = sum(wi * i for i, wi in enumerate(w))
        swxx = sum(wi * i * i for i, wi in enumerate(w))
        swy = sum(wi * y for wi, y in zip(w, ys))
        swxy = sum(wi * i * y for i, (wi, y) in enumerate(zip(w, ys)))
        b = F(sw * swxy - swx * swy, sw * swxx - swx * swx)  # cents per month
        mean = F(sum(ys), nn)
        return b / mean

    def stability(ys):
        if not ys or sum(ys) == 0:
            return None
        mean = F(sum(ys), len(ys))
        mad = sum(abs(y - mean) for y in ys) / len(ys)
        return max(F(0), 1 - mad / mean)

    def ratio(a, b):
        return None if b == 0 else F(a, b)

    def avg(total, k):
        return None if k == 0 else F(total, k)

    def money(x):  # Fraction of cents → JSON number of currency units
        return None if x is None else float(rnd(F(x), 0) / 100)

    def lender(t):
        s = t["partner"] if t["partner"].strip() else t["info"]
        return "".join(ch for ch in s.upper() if ch.isalnum())

    def mf(v):  # a published money figure, with two decimals
        return "null" if v is None else f"{v:.2f}"

    def fmt(x, places=4):
        return "null" if x is None else f"{float(rnd(x, places)):.{places}f}"

    # ===== income
    def inc_cat(t):
        return nearest(t["cat"], INCOME_DEF) if t["cents"] > 0 else None

    def mandatory(t):
        return t["cents"] < 0 and nearest(t["cat"], EXPENSE_DEF) is not None

    def debt(t):
        return t["cents"] < 0 and under(t["cat"], 79)

    inc_m = monthly(lambda t: inc_cat(t) is not None)
    man_m = monthly(mandatory, pos=False)
    debt_m = monthly(debt, pos=False)
    P("## insights-income")
    P("")
    P("Monthly totals of the window (cents shown as currency):")
    show("income", inc_m)
    show("mandatory spending (expense definition)", man_m)
    show("debt (money out in 79 Loans)", debt_m)
    inc_total = sum(inc_m)
    income = {}
    income["calendar_months"] = n
    income["average_monthly_income"] = money(avg(inc_total, n))
    income["average_monthly_discretionary_income"] = money(avg(inc_total - sum(man_m), n))
    income["calendar_months_with_income"] = sum(1 for v in inc_m if v)
    P(f"- average_monthly_income = {cents_str(inc_total)} / {n} = {mf(income['average_monthly_income'])}")
    P(f"- average_monthly_discretionary_income = ({cents_str(inc_total)} − {cents_str(sum(man_m))}) / {n}"
      f" = {mf(income['average_monthly_discretionary_income'])}")
    pays = sorted((t for t in span if inc_cat(t) is not None), key=lambda t: t["date"])
    pdays = sorted({t["date"] for t in pays})
    if len(pdays) >= 2:
        adb = F((pdays[-1] - pdays[0]).days, len(pdays) - 1)
        income["average_days_between_income_payments"] = num(adb, 2)
        P(f"- average_days_between_income_payments: {len(pdays)} distinct payment days from {pdays[0]} to "
          f"{pdays[-1]}: {(pdays[-1] - pdays[0]).days} / {len(pdays) - 1} = {fmt(adb, 2)}")
    else:
        income["average_days_between_income_payments"] = None
    income["days_since_last_income_payment"] = (end - pays[-1]["date"]).days if pays else None
    P(f"- days_since_last_income_payment = {end} − {pays[-1]['date'] if pays else None} = "
      f"{income['days_since_last_income_payment']}")
    dti = ratio(sum(debt_m), inc_total)
    income["debt_to_income_ratio"] = num(dti, 4)
    P(f"- debt_to_income_ratio = {cents_str(sum(debt_m))} / {cents_str(inc_total)} = {fmt(dti)}")
    income["monthly_regularity"] = num(F(income["calendar_months_with_income"], n), 4) if n else None
    P(f"- monthly_regularity = {income['calendar_months_with_income']} / {n} = {income['monthly_regularity']}")
    st = stability(inc_m)
    income["monthly_stability"] = num(st, 4)
    if st is not None:
        mean = F(inc_total, n)
        P(f"- monthly_stability: mean {float(mean) / 100:.4f}, deviations " +
          ", ".join(f"{float(abs(y - mean)) / 100:.4f}" for y in inc_m) +
          f"; mean absolute deviation {float(sum(abs(y - mean) for y in inc_m) / n) / 100:.4f}; "
          f"1 − MAD/mean = {fmt(st)}")
    tr = trend(inc_m)
    income["monthly_trend"] = num(tr, 4)
    P(f"- monthly_trend (weights {[2 if i >= n - 3 else 1 for i in range(n)]}) = slope / mean = {fmt(tr)}")

    by = {}
    P("")
    P("income_by_category (payments of the event span):")
    for cid in INCOME_DEF:
        ps = [t for t in pays if inc_cat(t) == cid]
        if not ps:
            by[str(cid)] = dict.fromkeys(["average_income_payment", "average_monthly_income",
                                          "days_since_last_income_payment", "median_income_payment",
                                          "number_of_income_payments"])
            continue
        am = sorted(t["cents"] for t in ps)
        k = len(am)
        med = F(am[k // 2]) if k % 2 else F(am[k // 2 - 1] + am[k // 2], 2)
        wtot = sum(t["cents"] for t in inwin if inc_cat(t) == cid)
        by[str(cid)] = {
            "average_income_payment": money(F(sum(am), k)),
            "average_monthly_income": money(avg(wtot, n)),
            "days_since_last_income_payment": (end - max(t["date"] for t in ps)).days,
            "median_income_payment": money(med),
            "number_of_income_payments": k,
        }
        P(f"- {cid} {title[cid]}: {k} payments " + ", ".join(cents_str(a) for a in am) +
          f"; average {cents_str(sum(am))} / {k} = {mf(by[str(cid)]['average_income_payment'])}; "
          f"median {mf(by[str(cid)]['median_income_payment'])}; window total {cents_str(wtot)} / {n} = "
          f"{mf(by[str(cid)]['average_monthly_income'])}; last {max(t['date'] for t in ps)}, "
          f"{by[str(cid)]['days_since_last_income_payment']} days before {end}")
    income["income_by_category"] = by
    income["definitions"] = {
        "income": [{"category_id": str(c), "title": title[c]} for c in INCOME_DEF],
        "expenses": [{"category_id": str(c), "title": title[c]} for c in EXPENSE_DEF],
    }
    received = sum(t["cents"] for t in tail if inc_cat(t) is not None)
    spent = sum(-t["cents"] for t in tail if mandatory(t))
    lim_obj = {"month": lim, "received_income": received / 100,
               "expected_remaining_income": None, "remaining_monthly_discretionary_income": None}
    if n:
        avg_inc = int(rnd(F(inc_total, n), 0))
        avg_man = F(sum(man_m), n)  # not published: kept exact, never rounded on its own
        exp_rem = max(0, avg_inc - received)
        rem = int(rnd(received + exp_rem - max(spent, avg_man), 0))
        lim_obj["expected_remaining_income"] = exp_rem / 100
        lim_obj["remaining_monthly_discretionary_income"] = rem / 100
        P("")
        P(f"last_incomplete_month {lim}: received {cents_str(received)}; expected remaining = max(0, "
          f"{cents_str(avg_inc)} − {cents_str(received)}) = {cents_str(exp_rem)}; mandatory so far "
          f"{cents_str(spent)}, average monthly mandatory {cents_str(sum(man_m))} / {n} = {fmt(avg_man / 100)} (not rounded; shown to 4 places); "
          f"remaining discretionary = {cents_str(received)} + {cents_str(exp_rem)} − "
          f"max({cents_str(spent)}, {fmt(avg_man / 100)}) = {cents_str(rem)} (rounded once)")
    income["last_incomplete_month"] = lim_obj

    # ===== loans
    P("")
    P("## insights-loans")
    P("")
    kinds = []
    for cid, p in parent.items():
        if p == 79:
            inc = [c for c, q in parent.items() if q == 22 and title[c] == title[cid]]
            kinds.append((title[cid], cid, inc[0] if inc else None))
    # The documented example's order first (Fines, Other loans, Payday
    # loans), then the other children of 79 by title.
    documented = [562, 81, 94]
    kinds.sort(key=lambda k: (documented.index(k[1]) if k[1] in documented else len(documented), k[0]))

    def kind_of(t):
        if t["cents"] > 0:
            if not under(t["cat"], 22):
                return None
            anc = ancestors(t["cat"])
            child = anc[anc.index(22) - 1] if anc.index(22) > 0 else None
            for ti, e, i in kinds:
                if i is not None and i == child:
                    return e
            return [e for ti, e, i in kinds if ti == "Other loans"][0]
        if t["cents"] < 0:
            if not under(t["cat"], 79):
                return None
            anc = ancestors(t["cat"])
            child = anc[anc.index(79) - 1] if anc.index(79) > 0 else None
            for ti, e, i in kinds:
                if e == child:
                    return e
            return [e for ti, e, i in kinds if ti == "Other loans"][0]
        return None

    out_m = monthly(lambda t: t["cents"] < 0 and kind_of(t) is not None, pos=False)
    in_m = monthly(lambda t: t["cents"] > 0 and kind_of(t) is not None)
    show("repayments (money out in 79)", out_m)
    show("incoming loans (money in in 22)", in_m)
    loans = {"calendar_months": n,
             "average_monthly_outgoing_loan_payment": money(avg(sum(out_m), n)),
             "calendar_months_with_incoming_loans": sum(1 for v in in_m if v),
             "calendar_months_with_outgoing_loans": sum(1 for v in out_m if v)}
    inl = [t for t in span if t["cents"] > 0 and kind_of(t) is not None]
    outl = [t for t in span if t["cents"] < 0 and kind_of(t) is not None]
    loans["days_since_last_incoming_loan"] = (end - max(t["date"] for t in inl)).days if inl else None
    loans["monthly_incoming_loan_trend"] = num(trend(in_m), 4)
    loans["monthly_outgoing_loan_trend"] = num(trend(out_m), 4)
    loans["number_of_incoming_loan_sources"] = len({lender(t) for t in inl})
    loans["number_of_outgoing_loan_sources"] = len({lender(t) for t in outl})
    P(f"- average_monthly_outgoing_loan_payment = {cents_str(sum(out_m))} / {n} = "
      f"{mf(loans['average_monthly_outgoing_loan_payment'])}; trends in {fmt(trend(in_m))}, out {fmt(trend(out_m))}")
    P(f"- incoming lenders (event span): {sorted({lender(t) for t in inl})}")
    P(f"- outgoing lenders (event span): {sorted({lender(t) for t in outl})}")
    lbc = []
    for ti, e, i in kinds:
        ko = monthly(lambda t: t["cents"] < 0 and kind_of(t) == e, pos=False)
        ki = monthly(lambda t: t["cents"] > 0 and kind_of(t) == e)
        kin = [t for t in inl if kind_of(t) == e]
        kout = [t for t in outl if kind_of(t) == e]
        el = {
            "average_monthly_outgoing_loan_payment": money(avg(sum(ko), n)) if sum(ko) else None,
            "category_id": {"expense": str(e), "income": str(i) if i else None},
            "category_title": ti,
            "days_since_last_incoming_loan": (end - max(t["date"] for t in kin)).days if kin else None,
            "monthly_incoming_loan_trend": num(trend(ki), 4),
            "monthly_outgoing_loan_trend": num(trend(ko), 4),
            "number_of_incoming_loan_sources": len({lender(t) for t in kin}) if i else None,
            "number_of_outgoing_loan_sources": len({lender(t) for t in kout}),
            "ratio_of_outgoing_loan_category_to_loans": num(ratio(sum(ko), sum(out_m)), 4),
        }
        lbc.append(el)
        if sum(ko) or sum(ki) or kin or kout:
            P(f"- {ti} ({e}/{i}): repayments " + ", ".join(cents_str(v) for v in ko) +
              f" (total {cents_str(sum(ko))}, share {fmt(ratio(sum(ko), sum(out_m)))}, trend {fmt(trend(ko))}); "
              f"incoming " + ", ".join(cents_str(v) for v in ki) + f" (trend {fmt(trend(ki))}); "
              f"lenders in {sorted({lender(t) for t in kin})}, out {sorted({lender(t) for t in kout})}")
    loans["loans_by_category"] = lbc

    # ===== risk
    P("")
    P("## insights-risk")
    P("")
    risk = {}
    for key, cid in [("alimony_payments", 137), ("bailiffs", 136), ("debt_collection", 138),
                     ("dishonours", 1402), ("loan_fines", 562)]:
        sel = [t for t in inwin if t["cents"] < 0 and under(t["cat"], cid)]
        tot = -sum(t["cents"] for t in sel)
        risk[key] = {"average_count_a_month": num(F(len(sel), n), 2) if sel else None,
                     "average_sum_a_month": money(F(tot, n)) if sel else None}
        P(f"- {key} ({cid}): {len(sel)} payments, total {cents_str(tot)}; / {n} months → "
          f"{fmt(F(len(sel), n), 2) if sel else 'null'} a month, {mf(risk[key]['average_sum_a_month'])} a month")

    # balances
    opening = closing = 0
    w_start = w_end = 0
    ok = True
    first_window_day = span_start
    day_after_window = dt.date(*next_month(*window[-1]), 1) if n else span_start
    for acc, c in ledgers:
        net = sum(to_cents(t["amount"]) for t in c["transactions"])
        sb = c.get("start_balance")
        eb = c.get("end_balance")
        if sb is None and eb is None:
            ok = False
            continue
        o = to_cents(sb) if sb is not None else to_cents(eb) - net
        cl = to_cents(eb) if eb is not None else o + net
        oc = conv(o, c["code"])
        opening += oc
        closing += conv(cl, c["code"])
        before_start = sum(conv(to_cents(t["amount"]), c["code"]) for t in c["transactions"]
                           if dt.date.fromisoformat(t["date"]) < first_window_day)
        before_end = sum(conv(to_cents(t["amount"]), c["code"]) for t in c["transactions"]
                         if dt.date.fromisoformat(t["date"]) < day_after_window)
        w_start += oc + before_start
        w_end += oc + before_end
        P(f"- balance of the {c['code']} ledger: opening {cents_str(o)} {c['code']} = {cents_str(oc)} {cur}; "
          f"+ {cents_str(before_start)} before {first_window_day}; + {cents_str(before_end)} before "
          f"{day_after_window}; closing {cents_str(cl)} {c['code']} = {cents_str(conv(cl, c['code']))} {cur}")
    net_flow = sum(t["cents"] for t in inwin)
    risk["balance"] = {
        "statement_start_balance": opening / 100 if ok else None,
        "statement_end_balance": closing / 100 if ok else None,
        "calendar_month_start_balance": w_start / 100 if ok and n else None,
        "calendar_month_end_balance": w_end / 100 if ok and n else None,
        "net_cash_flow": net_flow / 100 if n else None,
    }
    P(f"- balance: statement {cents_str(opening)} → {cents_str(closing)}; window {cents_str(w_start)} → "
      f"{cents_str(w_end)}; net cash flow (sum of window amounts) {cents_str(net_flow)}")

    # cash
    dep_m = monthly(lambda t: t["cents"] > 0 and under(t["cat"], 19))
    wd_m = monthly(lambda t: t["cents"] < 0 and under(t["cat"], 83), pos=False)
    out_all = monthly(lambda t: t["cents"] < 0, pos=False)
    ndep = sum(1 for t in inwin if t["cents"] > 0 and under(t["cat"], 19))
    nwd = sum(1 for t in inwin if t["cents"] < 0 and under(t["cat"], 83))
    show("cash deposits (19)", dep_m)
    show("cash withdrawals (83)", wd_m)
    show("all money out", out_all)
    dst = stability(dep_m)
    risk["cash"] = {
        "average_count_of_cash_deposit_a_month": num(F(ndep, n), 2) if ndep else None,
        "average_count_of_cash_withdrawal_a_month": num(F(nwd, n), 2) if nwd else None,
        "average_sum_of_cash_deposit_a_month": money(F(sum(dep_m), n)) if ndep else None,
        "average_sum_of_cash_withdrawal_a_month": money(F(sum(wd_m), n)) if nwd else None,
        "cash_deposit_monthly_trend": num(trend(dep_m), 4),
        "cash_deposit_to_income": num(ratio(sum(dep_m), inc_total), 4),
        "cash_withdrawal_monthly_trend": num(trend(wd_m), 4),
        "cash_withdrawal_to_expenses": num(ratio(sum(wd_m), sum(out_all)), 4),
        "cash_withdrawal_to_income": num(ratio(sum(wd_m), inc_total), 4),
        "stable_monthly_cash_deposits": (all(dep_m) and dst is not None and dst >= F(8, 10)) if n else None,
    }
    P(f"- cash: {ndep} deposits, {nwd} withdrawals in the window; deposit stability {fmt(dst)}; "
      f"deposits/income {fmt(ratio(sum(dep_m), inc_total))}, withdrawals/money out "
      f"{fmt(ratio(sum(wd_m), sum(out_all)))}, withdrawals/income {fmt(ratio(sum(wd_m), inc_total))}; "
      f"trends deposits {fmt(trend(dep_m))}, withdrawals {fmt(trend(wd_m))}")

    # gambling
    def gkind(t):
        if t["cents"] >= 0:
            return None
        for k in (4402, 4404, 4406, parent[4402]):
            if under(t["cat"], k):
                return k
        return None

    g_m = monthly(lambda t: gkind(t) is not None, pos=False)
    ng = sum(1 for t in inwin if gkind(t) is not None)
    gtot = sum(g_m)
    kt = {k: -sum(t["cents"] for t in inwin if gkind(t) == k) for k in (4402, 4404, 4406)}
    gspan = [t for t in span if gkind(t) is not None]
    show("gambling", g_m)
    risk["gambling"] = {
        "average_count_a_month": num(F(ng, n), 2) if ng else None,
        "average_sum_a_month": money(F(gtot, n)) if ng else None,
        "days_since_last_transaction": (end - max(t["date"] for t in gspan)).days if gspan else None,
        "gambling_to_all_expenses": num(ratio(gtot, sum(out_all)), 4),
        "monthly_regularity_of_gambling": num(F(sum(1 for v in g_m if v), n), 4) if n else None,
        "ratio_of_betting": num(ratio(kt[4406], gtot), 4),
        "ratio_of_casino": num(ratio(kt[4402], gtot), 4),
        "ratio_of_lottery": num(ratio(kt[4404], gtot), 4),
    }
    P(f"- gambling: {ng} transactions; casino {cents_str(kt[4402])}, lottery {cents_str(kt[4404])}, "
      f"betting {cents_str(kt[4406])}; gambling / money out = {cents_str(gtot)} / {cents_str(sum(out_all))} = "
      f"{fmt(ratio(gtot, sum(out_all)))}")

    # ===== simple score
    P("")
    P("## simple-score")
    P("")
    pts = []
    if n < 3:
        pts.append(("short history", 2))
    if not inc_total:
        pts.append(("no income", 3))
    elif income["monthly_stability"] is not None and income["monthly_stability"] < 0.5:
        pts.append(("unstable income", 2))
    elif income["monthly_stability"] is not None and income["monthly_stability"] < 0.8:
        pts.append(("unstable income", 1))
    d = income["debt_to_income_ratio"]
    if d is not None:
        if d > 0.6:
            pts.append(("debt to income", 3))
        elif d > 0.45:
            pts.append(("debt to income", 2))
        elif d > 0.35:
            pts.append(("debt to income", 1))
    g = risk["gambling"]["gambling_to_all_expenses"]
    if g is not None:
        if g >= 0.10:
            pts.append(("gambling", 3))
        elif g >= 0.05:
            pts.append(("gambling", 2))
        elif g >= 0.01:
            pts.append(("gambling", 1))
    for key, name, p in (("dishonours", "dishonours", 1), ("bailiffs", "bailiffs", 2),
                         ("debt_collection", "debt collection", 1)):
        if risk[key]["average_count_a_month"] is not None:
            pts.append((name, p))
    if risk["balance"]["net_cash_flow"] is not None and risk["balance"]["net_cash_flow"] < 0:
        pts.append(("falling balance", 1))
    if risk["balance"]["calendar_month_end_balance"] is not None and risk["balance"]["calendar_month_end_balance"] < 0:
        pts.append(("overdrawn", 1))
    score = max(1, 10 - sum(p for _, p in pts))
    P("Rules that apply: " + (", ".join(f"{nm} −{p}" for nm, p in pts) or "none") + f"; score = {score}.")

    expected = {"insights-income": income, "insights-loans": loans, "insights-risk": risk, "simple-score": score}
    with open(args.out + ".expected.json", "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    with open(args.out + ".arithmetic.md", "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
