package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// Claim takes the lease of address for this Store without waiting for
// another process (see the package doc), and reads its record afresh. It
// returns a context, derived from ctx, that is cancelled with
// state.ErrLeaseLost if the lease is lost, and the func that releases the
// lease, which the caller must call once done with the report. A lease
// another process holds is a *state.HeldError. Only a Shared Store has
// leases.
func (s *Store) Claim(ctx context.Context, address report.Address) (context.Context, func(), error) {
	if s.mode != Shared {
		return nil, nil, errors.New("claim: only a shared store has leases")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("claim %s: %w", address, state.ErrClosed)
	}
	if _, ok := s.held[address]; ok {
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("claim %s: this process holds it already", address)
	}
	s.mu.Unlock()
	start := time.Now()
	qctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var rec *state.Record
	var held *state.HeldError
	err := pgx.BeginFunc(qctx, s.pool, func(tx pgx.Tx) error {
		held = nil
		var owner string
		var expires time.Time
		var live bool
		err := tx.QueryRow(qctx, `SELECT owner, expires, expires > now() FROM ledgerform_leases
			WHERE workspace = $1 AND address = $2 FOR UPDATE SKIP LOCKED`, s.ws, string(address)).Scan(&owner, &expires, &live)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			// No lease, or one that another process is changing now.
			tag, err := tx.Exec(qctx, `INSERT INTO ledgerform_leases (workspace, address, owner, expires)
				VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond') ON CONFLICT DO NOTHING`,
				s.ws, string(address), s.owner, s.lease.Milliseconds())
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				held = &state.HeldError{Lease: state.Lease{Address: address, Owner: "another process", Expires: time.Now().Add(s.lease)}}
				tx.QueryRow(qctx, "SELECT owner, expires FROM ledgerform_leases WHERE workspace = $1 AND address = $2",
					s.ws, string(address)).Scan(&held.Owner, &held.Expires)
				return nil
			}
		case err != nil:
			return err
		case live && owner != s.owner:
			held = &state.HeldError{Lease: state.Lease{Address: address, Owner: owner, Expires: expires}}
			return nil
		default:
			if _, err := tx.Exec(qctx, `UPDATE ledgerform_leases SET owner = $3, expires = now() + $4 * interval '1 millisecond'
				WHERE workspace = $1 AND address = $2`, s.ws, string(address), s.owner, s.lease.Milliseconds()); err != nil {
				return err
			}
		}
		rec, err = scanRecord(tx.QueryRow(qctx, "SELECT record FROM ledgerform_records WHERE workspace = $1 AND address = $2", s.ws, string(address)))
		if errors.Is(err, pgx.ErrNoRows) {
			rec, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, nil, &state.UnavailableError{Err: s.dbError("claim "+string(address), err)}
	}
	if held != nil {
		return nil, nil, held
	}
	lctx, lcancel := context.WithCancelCause(ctx)
	s.mu.Lock()
	if rec != nil {
		s.records[address] = rec
	} else {
		delete(s.records, address)
	}
	h := &heldLease{cancel: lcancel, claimed: time.Now(), sure: start.Add(s.lease)}
	s.held[address] = h
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		ok := s.held[address] == h
		if ok {
			delete(s.held, address)
		}
		closed := s.closed
		s.mu.Unlock()
		if !ok {
			return
		}
		h.cancel(nil)
		if closed {
			return
		}
		rctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		// A lease not released expires: the failure costs others a wait,
		// nothing else.
		s.pool.Exec(rctx, "DELETE FROM ledgerform_leases WHERE workspace = $1 AND address = $2 AND owner = $3", s.ws, string(address), s.owner)
	}
	return lctx, release, nil
}

// heldLease is a lease this Store holds, as its renewals know it.
type heldLease struct {
	cancel context.CancelCauseFunc // ends the lease's context
	// claimed is when the claim returned (its transaction committed): a
	// renewal that started later sees the lease row.
	claimed time.Time
	// sure is the instant, by this process's clock, before which no other
	// process can take the lease: the start of the last statement that
	// set its expiry, plus the lease time (the database set the expiry
	// after that start, by its own clock).
	sure time.Time
}

// renew renews this Store's leases every third of the lease time until
// ctx ends, and cancels those it finds lost.
//
// A lease is lost when a renewal that succeeded did not renew it (another
// process took it after it expired), or when so little of it is surely
// left (heldLease.sure) that a change would be refused by the fence: less
// than a third. Both are judged per lease, by what its own claim and
// renewals established: a lease claimed while a renewal's statement was
// under way is not in that statement's answer, and is not lost for it;
// one claimed just now is not lost because earlier renewals failed.
func (s *Store) renew(ctx context.Context) {
	every := s.lease / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, every)
		s.relock(rctx)
		kept := map[report.Address]bool{}
		rows, err := s.pool.Query(rctx, `UPDATE ledgerform_leases SET expires = now() + $3 * interval '1 millisecond'
			WHERE workspace = $1 AND owner = $2 RETURNING address`, s.ws, s.owner, s.lease.Milliseconds())
		if err == nil {
			for rows.Next() {
				var a string
				if err = rows.Scan(&a); err != nil {
					break
				}
				kept[report.Address(a)] = true
			}
			rows.Close()
			err = rows.Err()
		}
		cancel()
		now := time.Now()
		s.mu.Lock()
		for a, h := range s.held {
			switch {
			case err == nil && kept[a]:
				h.sure = maxTime(h.sure, start.Add(s.lease))
			case err == nil && h.claimed.Before(start):
				// Seen by the statement, and not this Store's any more.
				h.cancel(state.ErrLeaseLost)
				delete(s.held, a)
			case now.After(h.sure.Add(-every)):
				h.cancel(state.ErrLeaseLost)
				delete(s.held, a)
			}
		}
		s.mu.Unlock()
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Leases returns the workspace's leases that have not expired.
func (s *Store) Leases(ctx context.Context) ([]state.Lease, error) {
	rows, err := s.pool.Query(ctx, `SELECT address, owner, expires FROM ledgerform_leases
		WHERE workspace = $1 AND expires > now() ORDER BY address`, s.ws)
	if err != nil {
		return nil, s.dbError("read the leases", err)
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (state.Lease, error) {
		var l state.Lease
		var a string
		err := r.Scan(&a, &l.Owner, &l.Expires)
		l.Address = report.Address(a)
		return l, err
	})
	if err != nil {
		return nil, s.dbError("read the leases", err)
	}
	return ls, nil
}

// Hold renews the lease of address now, in a committed write, for a
// remote call that must not be made twice (the processing request), and
// returns the instant, by this process's clock, before which the call
// must have ended: the renewal's start plus half the lease time. No other
// process can take the lease before the renewal's start plus the whole
// lease time (the database set the expiry after the renewal started), so
// the other half covers a request still on its way to the API and the
// recording of its answer. A lease this Store does not hold, or no longer
// owns in the database, is state.ErrLeaseLost (and its context is
// cancelled); a database that cannot be asked, a *state.UnavailableError:
// either way the call must not be made. A Store that is not Shared has
// no leases (its workspace lock keeps every other writer out): Hold
// returns the zero instant, no bound.
func (s *Store) Hold(ctx context.Context, address report.Address) (time.Time, error) {
	if s.mode != Shared {
		return time.Time{}, nil
	}
	s.mu.Lock()
	h := s.held[address]
	s.mu.Unlock()
	if h == nil {
		return time.Time{}, fmt.Errorf("hold %s: %w", address, state.ErrLeaseLost)
	}
	start := time.Now()
	qctx, cancel := context.WithTimeout(ctx, s.lease/2)
	defer cancel()
	tag, err := s.pool.Exec(qctx, `UPDATE ledgerform_leases SET expires = now() + $4 * interval '1 millisecond'
		WHERE workspace = $1 AND address = $2 AND owner = $3`, s.ws, string(address), s.owner, s.lease.Milliseconds())
	switch {
	case err != nil:
		return time.Time{}, &state.UnavailableError{Err: s.dbError("renew the lease of "+string(address), err)}
	case tag.RowsAffected() == 0:
		// Taken by another process after it expired: lost.
		s.mu.Lock()
		if s.held[address] == h {
			delete(s.held, address)
		}
		s.mu.Unlock()
		h.cancel(state.ErrLeaseLost)
		return time.Time{}, fmt.Errorf("hold %s: %w", address, state.ErrLeaseLost)
	}
	s.mu.Lock()
	h.sure = maxTime(h.sure, start.Add(s.lease))
	s.mu.Unlock()
	return start.Add(s.lease / 2), nil
}
