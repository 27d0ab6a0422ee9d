package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/htmlreport"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/summary"
)

// pageRenderer makes the HTML pages of reports with html: true
// (reconcile.PageRenderer): the summary of the output (package summary),
// drawn by htmlreport. Category titles come from the tree cache of the
// working directory (.ledgerform/trees); a tree not cached yet is fetched
// once, through connect (apply and import share theirs with the
// reconciler: see shared). Without a tree the page shows category ids,
// and says why.
type pageRenderer struct {
	trees *summary.Trees
}

// newPageRenderer returns the renderer of the working directory dir;
// connect gives the connection trees are fetched through.
func newPageRenderer(dir string, connect func(ctx context.Context) (reconcile.API, error)) *pageRenderer {
	p := &pageRenderer{}
	p.trees = &summary.Trees{Dir: filepath.Join(stateDir(dir), summary.TreesDir), Fetch: func(ctx context.Context, country string) (*api.CategoryTree, error) {
		c, err := connect(ctx)
		if err != nil {
			return nil, err
		}
		t, ok := c.(interface {
			CategoryTree(ctx context.Context, country string) (*api.CategoryTree, error)
		})
		if !ok {
			return nil, errors.New("the API client cannot fetch category trees")
		}
		return t.CategoryTree(ctx, country)
	}}
	return p
}

// RenderPage implements reconcile.PageRenderer.
func (p *pageRenderer) RenderPage(ctx context.Context, address report.Address, sp state.Spec, raw []byte) ([]byte, error) {
	res, err := summary.DecodeResult(sp.Output, raw)
	if err != nil {
		return nil, err
	}
	opts := summaryOptions(address, sp.Output, sp)
	version := ""
	if res.Categorisation != nil && res.Categorisation.CategoryTreeVersion != nil {
		version = *res.Categorisation.CategoryTreeVersion
	}
	opts.Tree, opts.TreeNote = p.trees.Find(ctx, summary.CountryOf(res, sp.Country), version)
	s, err := summary.Build(res, opts)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := htmlreport.Render(&b, s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// summaryOptions are the summary.Options of a report recorded with spec
// sp whose output is at output: what the result alone does not say.
func summaryOptions(address report.Address, output string, sp state.Spec) summary.Options {
	opts := summary.Options{Address: address.String(), Output: output, Country: sp.Country}
	if p := sp.Params; p != nil && p.Currency != nil {
		opts.Currency = *p.Currency
	}
	return opts
}

// shared returns connect made once: the first connection it makes is
// handed to every later caller (one that fails is tried again), so that
// the reconciler and the page renderer of one run share one client (and,
// for the embedded endpoint, one engine).
func shared(connect func(ctx context.Context) (reconcile.API, error)) func(ctx context.Context) (reconcile.API, error) {
	var mu sync.Mutex
	var made reconcile.API
	return func(ctx context.Context) (reconcile.API, error) {
		mu.Lock()
		defer mu.Unlock()
		if made != nil {
			return made, nil
		}
		c, err := connect(ctx)
		if err == nil {
			made = c
		}
		return c, err
	}
}
