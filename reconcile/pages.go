package reconcile

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// HTML pages (html: true in the manifests; spec.Report.Page).
//
// A page is a rendering of its report's output, never a record of its
// own: it is written after the output is written and recorded, renamed
// when the output is moved, written again when the output is restored or
// replaced, and removed with the output when prune removes it. The state
// does not change for it (turning html on or off is no new remote work).
//
// What ties a page to its output is its second line, written by the
// reconciler around what the PageRenderer made:
//
//	<!DOCTYPE html>
//	<!-- ledgerform page: output sha256 H1, page sha256 H2 -->
//	… the renderer's document …
//
// H1 is the SHA-256 of the output the page was rendered from and H2 that
// of everything after the second line. A page whose H1 is the recorded
// output's is up to date; one whose H2 matches is unedited (the only kind
// prune removes or a move renames); a file without that line is not
// ledgerform's and is only overwritten when the plan says so.
//
// A plan of an up-to-date report with a page takes one lstat of the page
// when the page is newer than the recorded output (as a page written
// after its output is), and reads its first two lines otherwise; so a
// page edited, or a file put at its path, after the output was written is
// left alone until the output changes. The whole page is read (and
// hashed) only when it is to be removed, renamed or overwritten.

// A PageRenderer makes the HTML page of one completed report from its
// output: raw is the output file's content (the API's answer, indented).
// It must depend on nothing else that changes, so that a page rendered
// again is the same file. It returns the
// document after its doctype (from <html> on): the reconciler adds the
// doctype and the line that ties the page to its output.
type PageRenderer interface {
	RenderPage(ctx context.Context, address report.Address, spec state.Spec, raw []byte) ([]byte, error)
}

// Render is the action of a completed report whose output is up to date
// but whose page is missing, out of date or no longer wanted: the page is
// rendered from the output again (or removed), with no remote call.
const Render Action = "render"

const pageMarker = "<!-- ledgerform page: output sha256 "

// pageState is what is at a page's path.
type pageState int

const (
	pageMissing pageState = iota
	pageCurrent           // ledgerform's, rendered from the output given
	pageStale             // ledgerform's, rendered from another output
	pageForeign           // a file ledgerform did not write (or not a regular file)
)

// readPage says what is at path, from its first two lines only (one
// read of pageHeadLen bytes), given the digest of the output it should
// have been rendered from ("" when that does not matter). It opens without
// blocking on a FIFO and reads only a regular file.
func readPage(dir, path, outSHA string) pageState {
	f, err := os.OpenFile(resolve(dir, path), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return pageMissing
	} else if err != nil {
		return pageForeign
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return pageForeign
	}
	var buf [pageHeadLen]byte
	n, _ := f.ReadAt(buf[:], 0)
	out, _, ok := pageHeader(bufio.NewReader(bytes.NewReader(buf[:n])))
	switch {
	case !ok:
		return pageForeign
	case outSHA != "" && out == outSHA:
		return pageCurrent
	}
	return pageStale
}

// pageHeadLen is the length of a page's first two lines.
const pageHeadLen = len("<!DOCTYPE html>\n") + len(pageMarker) + 64 + len(", page sha256 ") + 64 + len(" -->\n")

// pageHeader reads the doctype and marker lines and returns the output
// and page digests they name.
func pageHeader(r *bufio.Reader) (out, page string, ok bool) {
	const mid, tail = ", page sha256 ", " -->\n"
	l1, err1 := r.ReadString('\n')
	l2, err2 := r.ReadString('\n')
	rest, found := strings.CutPrefix(l2, pageMarker)
	if err1 != nil || err2 != nil || l1 != "<!DOCTYPE html>\n" || !found ||
		len(rest) != 64+len(mid)+64+len(tail) || rest[64:64+len(mid)] != mid || !strings.HasSuffix(rest, tail) {
		return "", "", false
	}
	return rest[:64], rest[64+len(mid) : 64+len(mid)+64], true
}

// PageHeader reads the first two lines of a file and reports whether it
// is an HTML page ledgerform wrote, and the SHA-256 of the output it was
// rendered from. The daemon serves only such files.
func PageHeader(r io.Reader) (outputSHA256 string, ok bool) {
	out, _, ok := pageHeader(bufio.NewReader(io.LimitReader(r, int64(pageHeadLen))))
	return out, ok
}

// pageIntact reports whether the page at path is ledgerform's and
// unedited: its body hashes to the digest its second line names.
func pageIntact(dir, path string) bool {
	data, _, err := fsutil.ReadRegular(resolve(dir, path), 64<<20)
	if err != nil {
		return false
	}
	r := bufio.NewReader(bytes.NewReader(data))
	_, page, ok := pageHeader(r)
	if !ok {
		return false
	}
	body, _ := io.ReadAll(r)
	return page == fsutil.Hash(body)
}

// pageDocument is the file written for a rendered body.
func pageDocument(outSHA string, body []byte) []byte {
	sum := sha256.Sum256(body)
	var b bytes.Buffer
	b.Grow(len(body) + 200)
	fmt.Fprintf(&b, "<!DOCTYPE html>\n%s%s, page sha256 %s -->\n", pageMarker, outSHA, hex.EncodeToString(sum[:]))
	b.Write(body)
	return b.Bytes()
}

// planPage turns a completed, up-to-date report (Noop) into Render when
// its page needs writing or, with prune on, removing. page is the desired
// page ("" without html).
func planPage(dir string, c *Change, page string, prune bool) {
	rec := c.Record
	if rec == nil || rec.Output == nil {
		return
	}
	if page != "" {
		// The common case costs one lstat: a page written after the
		// output it was rendered from is newer than it.
		if fi, err := os.Lstat(resolve(dir, page)); err == nil && fi.Mode().IsRegular() && fi.ModTime().UnixNano() >= rec.Output.MTime {
			return
		}
		switch readPage(dir, page, rec.Output.SHA256) {
		case pageCurrent:
			return
		case pageMissing:
			c.Reasons = []string{"HTML page " + page + " is missing"}
		case pageStale:
			c.Reasons = []string{"HTML page " + page + " was rendered from another output"}
		case pageForeign:
			c.Reasons = []string{"HTML page " + page + " is not one ledgerform wrote"}
		}
		c.Action, c.Page = Render, page
		return
	}
	old := spec.PagePath(rec.Spec.Output)
	if st := readPage(dir, old, ""); prune && (st == pageCurrent || st == pageStale) {
		c.Action, c.Reasons = Render, []string{"html is off: its HTML page " + old + " goes"}
	}
}

// pageEffects says what applying c does to HTML pages: the page written
// (overwriting what is there), an old page renamed with its output, or
// removed (prune) or left. It sets c.PagesRemoved and c.PageMove.
func (p *Plan) pageEffects(dir string, prune bool, c *Change) []FileEffect {
	switch c.Action {
	case Delete, Move, Render, Create, Replace, Resume, Retry, Restore:
	default:
		return nil // nothing is done to any file: nothing to read
	}
	var oldPage string // the page of the recorded output, if ledgerform's
	if rec := c.Record; rec != nil && rec.Output != nil {
		if st := readPage(dir, spec.PagePath(rec.Spec.Output), ""); st == pageStale || st == pageCurrent {
			oldPage = spec.PagePath(rec.Spec.Output)
		}
	}
	var fx []FileEffect
	gone := func(path, what string, remove bool) {
		e := FileEffect{Path: path, Effect: LeftBehind}
		switch {
		case !prune:
			e.Reason = what + "; prune is off"
		case !remove:
			e.Reason = what + "; another report writes this path now"
		case !pageIntact(dir, path):
			e.Reason = what + "; edited since ledgerform wrote it; prune removes only unedited pages"
		default:
			e.Effect, e.Reason = Removed, what+"; prune is on"
			c.PagesRemoved = append(c.PagesRemoved, path)
		}
		fx = append(fx, e)
	}
	switch c.Action {
	case Delete:
		if oldPage != "" {
			gone(oldPage, "the HTML page of the output", c.Prune)
		}
		return fx
	case Move:
		switch {
		case oldPage == "":
		case c.Page != "" && pageIntact(dir, oldPage):
			c.PageMove = oldPage
			fx = append(fx, FileEffect{Path: oldPage, Effect: Renamed, To: c.Page, Reason: "the HTML page moves with its output"})
		case c.Page != "":
			fx = append(fx, FileEffect{Path: oldPage, Effect: LeftBehind, Reason: "the old HTML page was edited; a new page is rendered"})
		default:
			gone(oldPage, "html is off", !p.desiredOutput(oldPage))
		}
		if c.Page != "" && exists(dir, c.Page) {
			fx = append(fx, FileEffect{Path: c.Page, Effect: Overwritten, Reason: "a file is there already"})
		}
		return fx
	case Render:
		if c.Page == "" && oldPage != "" {
			gone(oldPage, "html is off", true)
		}
	case Create, Replace, Resume, Retry, Restore:
		if oldPage != "" && oldPage != c.Page {
			what := "the old HTML page"
			if c.Page == "" {
				what = "html is off"
			}
			gone(oldPage, what, !p.desiredOutput(oldPage))
		}
	default:
		return nil
	}
	if c.Page != "" && exists(dir, c.Page) {
		why := "a file is there already"
		switch {
		case c.Page == oldPage && pageIntact(dir, c.Page):
			why = "it holds the previous page"
		case c.Page == oldPage:
			why = "it was edited since ledgerform wrote it; the edits are lost"
		}
		fx = append(fx, FileEffect{Path: c.Page, Effect: Overwritten, Reason: why})
	}
	return fx
}

// writePage renders the page of the completed record from raw (its
// output's content) and writes it crash-safely, 0600. A failure leaves
// the record completed: the next plan renders the page again.
func (j *job) writePage(ctx context.Context, raw []byte) error {
	if j.page == "" || j.rec.Output == nil {
		return nil
	}
	if j.r.Pages == nil {
		return j.pageFailed("page", fmt.Errorf("HTML page %s: no page renderer", j.page))
	}
	body, err := j.r.Pages.RenderPage(ctx, j.rec.Address, j.rec.Spec, raw)
	if err == nil {
		err = fsutil.WriteFile(resolve(j.r.Dir, j.page), pageDocument(j.rec.Output.SHA256, body))
	}
	if err != nil {
		return j.pageFailed("page", fmt.Errorf("HTML page %s: %w", j.page, err))
	}
	e := j.event("page", "ok")
	e.Output = j.page
	j.r.emit(e)
	return nil
}

// render carries out Render: the page from the output on disk, or the
// removal of a page no longer wanted.
func (j *job) render(ctx context.Context, c Change) error {
	j.rec = c.Record.Clone()
	if err := j.removePages(c.PagesRemoved); err != nil {
		return err
	}
	if j.page == "" {
		return nil
	}
	raw, _, err := fsutil.ReadRegular(resolve(j.r.Dir, j.rec.Spec.Output), 1<<30)
	if err != nil {
		return j.pageFailed("page", fmt.Errorf("HTML page %s: read output: %w", j.page, err))
	}
	return j.writePage(ctx, raw)
}

// movePage renames the page along with its output.
func (j *job) movePage(from string) error {
	if from == "" || j.page == "" {
		return nil
	}
	if err := fsutil.Rename(resolve(j.r.Dir, from), resolve(j.r.Dir, j.page)); err != nil {
		return j.pageFailed("move", fmt.Errorf("move HTML page %s to %s: %w", from, j.page, err))
	}
	return nil
}

// removePages removes pages the plan said go, if each is still the page
// ledgerform wrote.
func (j *job) removePages(paths []string) error {
	for _, p := range paths {
		if !pageIntact(j.r.Dir, p) {
			continue
		}
		if err := os.Remove(resolve(j.r.Dir, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return j.pageFailed("prune", fmt.Errorf("prune HTML page %s: %w", p, err))
		}
		j.r.emit(Event{Address: j.rec.Address, Action: j.action, Step: "prune", Status: "ok", Output: p})
	}
	return nil
}

// pageFailed tells of a page that could not be written, moved or removed,
// and returns the error (a transient local one: the record is left as it
// is, so the next plan tries the page again).
func (j *job) pageFailed(step string, err error) error {
	e := j.event(step, "failed")
	e.Error = err.Error()
	j.r.emit(e)
	return &localError{code: CodeOutput, err: err}
}
