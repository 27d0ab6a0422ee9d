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
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/summary"
)

// pageRenderer makes the HTML pages of reports with html: true
// (reconcile.PageRenderer): the summary of the output (package summary),
// drawn by htmlreport. Category titles come from the tree cache of the
// working directory (.ledgerform/trees); a tree not cached yet is fetched
// once through its own connection to the endpoint, made the first time
// one is needed. Without a tree the page shows category ids, and says why.
type pageRenderer struct {
	trees *summary.Trees

	mu   sync.Mutex
	conn reconcile.API
}

// newPageRenderer returns the renderer of the working directory dir;
// connect makes the connection trees are fetched through.
func newPageRenderer(dir string, connect func(ctx context.Context) (reconcile.API, error)) *pageRenderer {
	p := &pageRenderer{}
	p.trees = &summary.Trees{Dir: filepath.Join(stateDir(dir), summary.TreesDir), Fetch: func(ctx context.Context, country string) (*api.CategoryTree, error) {
		c, err := p.connect(ctx, connect)
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

func (p *pageRenderer) connect(ctx context.Context, connect func(ctx context.Context) (reconcile.API, error)) (reconcile.API, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		return p.conn, nil
	}
	c, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	p.conn = c
	return c, nil
}

// RenderPage implements reconcile.PageRenderer.
func (p *pageRenderer) RenderPage(ctx context.Context, address report.Address, sp state.Spec, raw []byte) ([]byte, error) {
	res, err := summary.DecodeResult(sp.Output, raw)
	if err != nil {
		return nil, err
	}
	opts := summary.Options{Address: address.String(), Output: sp.Output, Country: sp.Country}
	if sp.Params != nil && sp.Params.Currency != nil {
		opts.Currency = *sp.Params.Currency
	}
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

// pagesFor returns the page renderer apply, import and watch give the
// reconciler, connecting with the settings settings returns (the
// manifests' in force).
func pagesFor(dir string, conn *connector, settings func() (spec.Settings, error)) *pageRenderer {
	return newPageRenderer(dir, func(ctx context.Context) (reconcile.API, error) {
		s, err := settings()
		if err != nil {
			return nil, err
		}
		return conn.Connect(ctx, s)
	})
}

// fixedSettings is a settings func for pagesFor of settings known once.
func fixedSettings(s spec.Settings) func() (spec.Settings, error) {
	return func() (spec.Settings, error) { return s, nil }
}

// manifestSettings is a settings func for pagesFor that reads the
// manifests of dir when asked (watch: the manifests change while it runs).
func manifestSettings(dir string) func() (spec.Settings, error) {
	return func() (spec.Settings, error) {
		set, err := loadManifests(dir)
		if err != nil {
			return spec.Settings{}, err
		}
		return set.Settings, nil
	}
}
