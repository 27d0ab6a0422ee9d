package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ledgerform/ledgerform/daemon"
	"github.com/ledgerform/ledgerform/state"
)

// defaultListen is where watch serves /status, and so where status and
// why look for it.
const defaultListen = "127.0.0.1:9464"

const statusUsage = `status

Shows what a running ledgerform watch knows of every report: its
conditions (Ready, Reconciling, Stalled, kstatus style), the reason and
message of its Ready condition, when it is retried next and, when
daemons share a state (watch --state), who holds its lease; above the
table, the daemon's own conditions (ready, the API reachable, the
manifests valid) when one is not True.

It reads the daemon's /status endpoint on --addr (watch's --listen,
127.0.0.1:9464 by default) over HTTP, so --listen "" leaves nothing to
read; it changes nothing. --json prints that document as it is: every
field of /status, each report's conditions (type, status, reason,
message, lastTransitionTime), observed_digest, attempts and next_retry.`

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", statusUsage)
	addr := fs.String("addr", defaultListen, "`address` of the daemon's /status (watch --listen)")
	asJSON := fs.Bool("json", false, "print the daemon's /status document")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *addr == "" {
		return usageError{errors.New("status: --addr must not be empty")}
	}
	s, raw, err := fetchStatus(ctx, *addr, 5*time.Second)
	if err != nil {
		return hinted{fmt.Errorf("status: %w", err), "start ledgerform watch, or give --addr the address of its --listen"}
	}
	if *asJSON {
		_, err = stdout.Write(raw)
		return err
	}
	return writeStatusText(stdout, s, time.Now())
}

// statusURL is the /status URL of a daemon listening on addr (host:port,
// or a base URL).
func statusURL(addr string) string {
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		return strings.TrimSuffix(addr, "/") + "/status"
	}
	return "http://" + addr + "/status"
}

// fetchStatus reads a daemon's /status within timeout.
func fetchStatus(ctx context.Context, addr string, timeout time.Duration) (*daemon.Status, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := statusURL(addr)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("--addr %q: %w", addr, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("no daemon answers at %s: %w", u, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s answered %s", u, resp.Status)
	}
	var s daemon.Status
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, nil, fmt.Errorf("%s is not a ledgerform daemon's status: %w", u, err)
	}
	return &s, raw, nil
}

// writeStatusText writes the daemon's conditions that are not True, then
// one row per report.
func writeStatusText(w io.Writer, s *daemon.Status, now time.Time) error {
	var b strings.Builder
	for _, c := range s.Conditions {
		if c.Status == "True" {
			continue
		}
		fmt.Fprintf(&b, "daemon: %s is False (%s)", c.Type, c.Reason)
		if c.Message != "" {
			fmt.Fprintf(&b, ": %s", strings.ReplaceAll(c.Message, "\n", "\n    "))
		}
		fmt.Fprintf(&b, " since %s\n", c.LastTransitionTime.Local().Format(time.DateTime))
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	// With a shared state, who holds each report's lease; without one
	// (or while no lease is held) the table has no such column.
	leased := slices.ContainsFunc(s.Reports, func(r daemon.ReportStatus) bool { return r.Lease != nil })
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "ADDRESS\tREADY\tREASON\tMESSAGE\tNEXT RETRY")
	if leased {
		fmt.Fprint(tw, "\tLEASE")
	}
	fmt.Fprintln(tw)
	for _, r := range s.Reports {
		ready, _ := daemon.FindCondition(r.Conditions, daemon.ConditionReady)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s", r.Address, ready.Status, dash(ready.Reason), dash(clipLine(ready.Message, 60)), nextRetry(r.NextRetry, now))
		if leased {
			fmt.Fprintf(tw, "\t%s", leaseCell(r.Lease, now))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\n%d reports; queue: %d ready, %d in backoff, %d in flight\n", len(s.Reports), s.Queue.Ready, s.Queue.Delayed, s.Queue.InFlight)
	if src := s.Source; src != nil {
		fmt.Fprintf(&b, "source: %s", src.URL)
		if src.Branch != "" {
			fmt.Fprintf(&b, " branch %s", src.Branch)
		}
		if src.Path != "" {
			fmt.Fprintf(&b, " path %s", src.Path)
		}
		fmt.Fprintf(&b, "; revision %s in force\n", dash(src.Revision))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// leaseCell is a report's lease for the table: its owner (host:pid:id)
// and how long it lasts unrenewed, or "-".
func leaseCell(l *state.Lease, now time.Time) string {
	if l == nil {
		return "-"
	}
	owner := clip(l.Owner, 60)
	left := l.Expires.Sub(now).Round(time.Second)
	if left <= 0 {
		return owner + " (expiring)"
	}
	return fmt.Sprintf("%s (%s left)", owner, left)
}

// nextRetry says when a report in backoff is due, as "in 4s".
func nextRetry(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	d := t.Sub(now).Round(time.Second)
	if d <= 0 {
		return "now"
	}
	return "in " + d.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clipLine is the first line of s, clipped for a table cell (clip
// collapses its whitespace, tabs included), with " …" when lines were cut.
func clipLine(s string, n int) string {
	s, _, cut := strings.Cut(s, "\n")
	s = clip(s, n)
	if cut && !strings.HasSuffix(s, "…") {
		s += " …"
	}
	return s
}
