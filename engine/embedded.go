package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// A Running engine is a Server listening on a TCP address. It owns its
// listener and serving goroutine; Close stops both.
type Running struct {
	// URL is the base URL of the API, like "http://127.0.0.1:41234".
	URL string
	// ClientID and ClientSecret get a token from URL + "/oauth/token".
	ClientID, ClientSecret string

	srv      *Server
	hs       *http.Server
	done     chan struct{} // closed when Serve returns
	serveErr error
}

// Start runs an engine on addr; "127.0.0.1:0" picks a free loopback port,
// which is what `endpoint: embedded` uses. The caller must Close it.
func Start(cfg Config, addr string) (*Running, error) {
	srv, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("engine: listen: %w", err)
	}
	e := &Running{
		URL: "http://" + ln.Addr().String(),
		srv: srv,
		hs: &http.Server{
			Handler:           srv,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       2 * time.Minute,
			WriteTimeout:      2 * time.Minute,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(srv.cfg.Logger.Handler(), slog.LevelWarn), // not the log package's stderr
		},
		done: make(chan struct{}),
	}
	e.ClientID, e.ClientSecret = srv.Credentials()
	go func() {
		e.serveErr = e.hs.Serve(ln)
		close(e.done)
	}()
	return e, nil
}

// StartEmbedded runs an engine on a free loopback port with generated
// credentials: the remote of `endpoint: embedded` and of every test.
func StartEmbedded(cfg Config) (*Running, error) { return Start(cfg, "127.0.0.1:0") }

// Server returns the engine behind the listener.
func (e *Running) Server() *Server { return e.srv }

// Shutdown stops accepting connections and waits, until ctx ends, for the
// requests in flight; then it stops the engine.
func (e *Running) Shutdown(ctx context.Context) error {
	err := e.hs.Shutdown(ctx)
	<-e.done
	e.srv.Close()
	return err
}

// Close stops the engine at once, closing open connections.
func (e *Running) Close() error {
	err := e.hs.Close()
	<-e.done
	e.srv.Close()
	return err
}

// Done is closed when the engine stops serving; Err then says why.
func (e *Running) Done() <-chan struct{} { return e.done }

// Err is the error that stopped the listener, or nil after a Shutdown or
// Close. It is valid once Done is closed.
func (e *Running) Err() error {
	if errors.Is(e.serveErr, http.ErrServerClosed) {
		return nil
	}
	return e.serveErr
}
