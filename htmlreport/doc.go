// Package htmlreport renders a report's Summary (package summary) as one
// self-contained HTML page, for people: an analyst who opens it from a
// mail, an archive or the daemon's web page.
//
// # What the page holds
//
// The summary first (the score, income, loans and risk signals of the
// products the report asked for), then charts, drawn by Chart.js (vendored
// from the npm registry in assets/chartjs with its licence and version;
// see VENDORED.md there) on canvases:
//
//   - spending by category, per account (the largest ten categories);
//   - money in against money out, month by month, per account;
//   - the balance at the end of each day with a transaction, over the
//     statement period, per account;
//   - income by source (insights-income), average monthly income per
//     income category;
//
// then every transaction in a table that can be sorted (the column
// headers are buttons) and filtered (text, category, money in or out).
//
// # Self-contained
//
// Every script and style is inline; the page loads nothing (its
// Content-Security-Policy says default-src 'none', so a browser would
// refuse to), which makes it readable offline, mailed or archived. It
// holds no time of rendering: the same summary gives the same bytes.
//
// # Untrusted text
//
// A statement's descriptions, partners, account names and holders are
// input from outside; the page is built with html/template, which escapes
// each value for where it goes (text, attribute, or the JSON the charts
// read). A description such as <script>alert(1)</script> is shown as that
// text.
//
// # Accessibility and print
//
// Real headings and table markup (caption, th scope); each chart is a
// figure whose numbers are in a table beside it (its text alternative,
// linked from the canvas with aria-describedby), and no chart needs colour
// to be read: a single series per chart except money in/out, which are
// told apart by fill (solid against outlined) and named in the legend.
// Printed (A4, print CSS), the controls are hidden, tables keep their
// header rows on every page and every table is opened.
package htmlreport
