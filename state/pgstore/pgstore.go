package pgstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ledgerform/ledgerform/internal/backoff"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// Mode is how a Store uses its workspace.
type Mode int

// The modes.
const (
	// ReadOnly: a snapshot as of Open, for plan; no lock, no write.
	ReadOnly Mode = iota
	// Exclusive: the only writer (apply, state rm/mv, import).
	Exclusive
	// Shared: one of several daemons (watch), with leases.
	Shared
)

// DefaultLeaseTime is the lease time of a Shared Store whose Options give
// none.
const DefaultLeaseTime = 30 * time.Second

// lockClass is the first key of every workspace's advisory lock ("LF").
const lockClass = 0x4c46

// Options configure Open.
type Options struct {
	URL string // postgres://…; its workspace parameter names the workspace
	// Workspace is the workspace's name when the URL gives none.
	Workspace string
	Mode      Mode
	// LockTimeout is how long Open waits for a lock another process holds;
	// 0 fails at once.
	LockTimeout time.Duration
	// LeaseTime is how long a Shared Store's lease lasts unrenewed
	// (DefaultLeaseTime).
	LeaseTime time.Duration
}

// Store is a workspace of a PostgreSQL state. It implements the Store
// contract of state/storetest and is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	target  string // the database, without password, for messages
	pw      string // the URL's password, redacted from every message
	name    string // the workspace
	ws      int64  // its id; 0 for a read-only Store of a workspace not yet created
	mode    Mode
	lease   time.Duration
	owner   string       // this Store's name as a lease owner (Shared)
	lockMu  sync.Mutex   // guards lock
	lock    *pgx.Conn    // the session that holds the workspace's lock
	lockPID atomic.Int32 // its backend pid, for the fence
	cc      *pgx.ConnConfig
	stop    context.CancelFunc // of the renewals
	renewed sync.WaitGroup

	mu      sync.Mutex
	records map[report.Address]*state.Record // never changed in place: View hands them out
	lineage string
	serial  uint64
	held    map[report.Address]*heldLease
	closed  bool
}

// Open opens the workspace of the state at opts.URL, creating the schema
// (or migrating it) and the workspace if need be unless it is ReadOnly,
// taking the workspace's lock for Exclusive and Shared, and loading its
// records. Errors name the database and say what is wrong: unreachable,
// refusing the login, read-only, a newer schema, or locked.
func Open(ctx context.Context, opts Options) (*Store, error) {
	cfg, name, target, pw, err := parseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	name = cmp.Or(name, opts.Workspace)
	if name == "" {
		return nil, fmt.Errorf("state %s: no workspace: give one as ?workspace=NAME", target)
	}
	s := &Store{target: target, pw: pw, name: name, mode: opts.Mode, lease: cmp.Or(max(opts.LeaseTime, 0), DefaultLeaseTime),
		records: map[report.Address]*state.Record{}, held: map[report.Address]*heldLease{}}
	host, _ := os.Hostname()
	s.owner = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), strings.ToLower(rand.Text()[:6]))
	cfg.ConnConfig.RuntimeParams["application_name"] = "ledgerform"
	if !strings.Contains(opts.URL, "pool_max_conns") {
		// pgx's default is the number of CPUs (at least 4): fewer than the
		// workers of a daemon with a larger --parallelism.
		cfg.MaxConns = max(cfg.MaxConns, 16)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, s.dbError("connect", err)
	}
	s.pool = pool
	if err := s.open(ctx, cfg.ConnConfig, opts.LockTimeout); err != nil {
		s.Close()
		return nil, err
	}
	if s.mode == Shared {
		rctx, stop := context.WithCancel(context.Background())
		s.stop = stop
		s.renewed.Go(func() { s.renew(rctx) })
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, cc *pgx.ConnConfig, lockTimeout time.Duration) error {
	if err := s.pool.Ping(ctx); err != nil {
		return s.dbError("connect", err)
	}
	if s.mode != ReadOnly {
		var ro string
		if err := s.pool.QueryRow(ctx, "SHOW transaction_read_only").Scan(&ro); err != nil {
			return s.dbError("connect", err)
		}
		if ro == "on" {
			return &Error{Target: s.target, Op: "open", Kind: KindReadOnly,
				Err: errors.New("the database is read-only (a standby, or default_transaction_read_only); ledgerform must write its state there")}
		}
		if err := s.migrate(ctx); err != nil {
			return err
		}
		if err := s.createWorkspace(ctx); err != nil {
			return err
		}
		s.cc = cc
		if err := s.takeLock(ctx, cc, lockTimeout); err != nil {
			return err
		}
	} else {
		v, err := s.schemaVersion(ctx, s.pool)
		if err != nil {
			return err
		}
		if v == 0 {
			return nil // no schema: an empty state
		}
		err = s.pool.QueryRow(ctx, "SELECT id, lineage, serial FROM ledgerform_workspaces WHERE name = $1", s.name).Scan(&s.ws, &s.lineage, &s.serial)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return s.dbError("read the workspace", err)
		}
	}
	return s.Refresh(ctx)
}

// createWorkspace creates the workspace if it does not exist, and reads
// its id and lineage.
func (s *Store) createWorkspace(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO ledgerform_workspaces (name, lineage) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", s.name, rand.Text())
	if err == nil {
		err = s.pool.QueryRow(ctx, "SELECT id, lineage FROM ledgerform_workspaces WHERE name = $1", s.name).Scan(&s.ws, &s.lineage)
	}
	if err != nil {
		return s.dbError("create the workspace", err)
	}
	return nil
}

// Name returns the workspace's name.
func (s *Store) Name() string { return s.name }

// Target returns the database as postgres://user@host:port/database,
// without the password: what messages name it by.
func (s *Store) Target() string { return s.target }

// Owner is this Store's name as the owner of leases: host:pid:random.
func (s *Store) Owner() string { return s.owner }

// LeaseTime is how long this Store's leases last unrenewed.
func (s *Store) LeaseTime() time.Duration { return s.lease }

// Refresh reads every record of the workspace again, so that reads see
// what other processes changed. The records of the reports whose leases
// this Store holds are kept as they are: only this Store changes them, and
// a read that began before its last change must not undo it in memory
// (the next plan of the report would start from an older phase).
func (s *Store) Refresh(ctx context.Context) error {
	if s.ws == 0 {
		return nil
	}
	var serial uint64
	recs := map[report.Address]*state.Record{}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT serial FROM ledgerform_workspaces WHERE id = $1", s.ws).Scan(&serial); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT record FROM ledgerform_records WHERE workspace = $1", s.ws)
		if err != nil {
			return err
		}
		for rows.Next() {
			r, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return err
			}
			recs[r.Address] = r
		}
		return rows.Err()
	})
	if err != nil {
		return s.dbError("read the records", err)
	}
	s.mu.Lock()
	for a := range s.held {
		if r, ok := s.records[a]; ok {
			recs[a] = r
		} else {
			delete(recs, a)
		}
	}
	s.records, s.serial = recs, max(s.serial, serial)
	s.mu.Unlock()
	return nil
}

func scanRecord(row pgx.Row) (*state.Record, error) {
	var raw []byte
	if err := row.Scan(&raw); err != nil {
		return nil, err
	}
	r := new(state.Record)
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, fmt.Errorf("a record that does not decode: %w", err)
	}
	r.Updated = r.Updated.UTC()
	return r, nil
}

// Get returns a deep copy of the record of address.
func (s *Store) Get(address report.Address) (state.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[address]
	if !ok {
		return state.Record{}, false
	}
	return r.Clone(), true
}

// View returns the record of address without a copy: it must not be
// changed, and is not changed by later changes (they store new ones).
func (s *Store) View(address report.Address) (*state.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[address]
	return r, ok
}

// Records returns deep copies of all the records, sorted by address.
func (s *Store) Records() []state.Record {
	s.mu.Lock()
	rs := make([]state.Record, 0, len(s.records))
	for _, r := range s.records {
		rs = append(rs, r.Clone())
	}
	s.mu.Unlock()
	slices.SortFunc(rs, func(a, b state.Record) int { return cmp.Compare(a.Address, b.Address) })
	return rs
}

// Addresses returns the recorded addresses, sorted.
func (s *Store) Addresses() []report.Address {
	s.mu.Lock()
	as := make([]report.Address, 0, len(s.records))
	for a := range s.records {
		as = append(as, a)
	}
	s.mu.Unlock()
	slices.Sort(as)
	return as
}

// Len returns the number of records.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// Lineage returns the workspace's identity, chosen when it was created.
func (s *Store) Lineage() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lineage
}

// Serial returns the number of changes made to the workspace, as last
// seen by this Store.
func (s *Store) Serial() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serial
}

// fence is the condition every change of a writable Store must meet,
// checked in the statement that makes it: this Store's session still holds
// the workspace's lock (lockFence; $5 is that session's backend pid: a
// lock lost with its connection stops every change), and, for a Shared
// Store, it owns the lease of the address ($2) with a third of the lease
// time left (leaseFence). $1 is the workspace, $3 the owner (” for the
// other modes: no lease), $4 the margin in milliseconds.
const (
	lockFence = `EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted
	AND k.classid = 19526::oid AND k.objid::bigint = $1 AND k.objsubid = 2 AND k.pid = $5)`
	leaseFence = `($3 = '' OR EXISTS (SELECT 1 FROM ledgerform_leases l WHERE l.workspace = $1 AND l.address = $2
	AND l.owner = $3 AND l.expires > now() + $4 * interval '1 millisecond'))`
	fence = lockFence + " AND " + leaseFence
)

// ErrLockLost is wrapped by the error of a change made after the
// workspace's lock was lost with the connection that held it (the server
// restarted, the connection was cut). A Shared Store takes the lock again
// by itself; an Exclusive one must be opened again.
var ErrLockLost = errors.New("the workspace's lock was lost with its connection")

const putSQL = `WITH ws AS (
	UPDATE ledgerform_workspaces SET serial = serial + 1 WHERE id = $1 AND ` + fence + ` RETURNING serial)
INSERT INTO ledgerform_records (workspace, address, record, serial, updated)
SELECT $1, $2, $6, ws.serial, $7 FROM ws
ON CONFLICT (workspace, address) DO UPDATE SET record = EXCLUDED.record, serial = EXCLUDED.serial, updated = EXCLUDED.updated
RETURNING serial`

const deleteSQL = `WITH ws AS (
	UPDATE ledgerform_workspaces SET serial = serial + 1 WHERE id = $1 AND ` + fence + `
	AND EXISTS (SELECT 1 FROM ledgerform_records WHERE workspace = $1 AND address = $2) RETURNING serial),
del AS (DELETE FROM ledgerform_records WHERE workspace = $1 AND address = $2 AND EXISTS (SELECT 1 FROM ws))
SELECT serial FROM ws`

// check says why the Store takes no change, if it does not.
func (s *Store) check() error {
	switch {
	case s.mode == ReadOnly:
		return fmt.Errorf("state %s: %w", s.target, state.ErrReadOnly)
	case s.closed:
		return fmt.Errorf("state %s: %w", s.target, state.ErrClosed)
	}
	return nil
}

// fenceArgs are the fence's parameters $3 to $5.
func (s *Store) fenceArgs() (owner string, margin int64, lockPID int32) {
	if s.mode != Shared {
		return "", 0, s.lockPID.Load()
	}
	return s.owner, (s.lease / 3).Milliseconds(), s.lockPID.Load()
}

// opTimeout bounds one change: a database that stops answering must not
// hold a report (and its worker) for ever.
const opTimeout = 30 * time.Second

// Put records r (a copy) under r.Address, with Updated set to now in UTC,
// in one committed transaction.
func (s *Store) Put(r state.Record) error {
	if r.Address == "" {
		return errors.New("put: record without an address")
	}
	s.mu.Lock()
	err := s.check()
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("put %s: %w", r.Address, err)
	}
	c := r.Clone()
	c.Updated = time.Now().UTC()
	raw, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("put %s: %w", r.Address, err)
	}
	owner, margin, pid := s.fenceArgs()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var serial uint64
	err = s.pool.QueryRow(ctx, putSQL, s.ws, string(c.Address), owner, margin, pid, raw, c.Updated).Scan(&serial)
	if err != nil {
		return s.changeError(ctx, "put", r.Address, err)
	}
	s.mu.Lock()
	s.records[c.Address] = &c
	s.serial = max(s.serial, serial)
	s.mu.Unlock()
	return nil
}

// Delete forgets the record of address, if there is one, in one committed
// transaction.
func (s *Store) Delete(address report.Address) error {
	s.mu.Lock()
	err := s.check()
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("delete %s: %w", address, err)
	}
	owner, margin, pid := s.fenceArgs()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var serial uint64
	err = s.pool.QueryRow(ctx, deleteSQL, s.ws, string(address), owner, margin, pid).Scan(&serial)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Nothing to delete, or the fence refused it: which one?
		if err := s.unfenced(ctx, "delete", address); err != nil {
			return err
		}
	case err != nil:
		return s.changeError(ctx, "delete", address, err)
	}
	s.mu.Lock()
	delete(s.records, address)
	s.serial = max(s.serial, serial)
	s.mu.Unlock()
	return nil
}

// unfenced says why the fence refuses a change of address, if it does:
// the lock lost (retryable: the database is not usable by this Store now),
// or the lease.
func (s *Store) unfenced(ctx context.Context, op string, address report.Address) error {
	owner, margin, pid := s.fenceArgs()
	var locked, leased bool
	err := s.pool.QueryRow(ctx, "SELECT "+lockFence+", "+leaseFence, s.ws, string(address), owner, margin, pid).Scan(&locked, &leased)
	switch {
	case err != nil:
		return &state.UnavailableError{Err: s.dbError(op+" "+string(address), err)}
	case !locked:
		return &state.UnavailableError{Err: fmt.Errorf("%s %s: state %s workspace %s: %w", op, address, s.target, s.name, ErrLockLost)}
	case !leased:
		return fmt.Errorf("%s %s: %w", op, address, state.ErrLeaseLost)
	}
	return nil
}

// Move records the record of from under to, and forgets from, in one
// committed transaction. It is an error, and changes nothing, if from
// has no record or to has one.
func (s *Store) Move(from, to report.Address) error {
	if to == "" {
		return fmt.Errorf("move %s: no address to move it to", from)
	}
	s.mu.Lock()
	err := s.check()
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("move %s: %w", from, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var moved *state.Record
	var serial uint64
	var refused error
	owner, margin, pid := s.fenceArgs()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "UPDATE ledgerform_workspaces SET serial = serial + 1 WHERE id = $1 AND "+fence+" RETURNING serial",
			s.ws, string(from), owner, margin, pid).Scan(&serial); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				refused = s.unfenced(ctx, "move", from)
			}
			return err
		}
		r, err := scanRecord(tx.QueryRow(ctx, "SELECT record FROM ledgerform_records WHERE workspace = $1 AND address = $2 FOR UPDATE", s.ws, string(from)))
		if errors.Is(err, pgx.ErrNoRows) {
			refused = fmt.Errorf("move %s: it is not in the state", from)
			return refused
		}
		if err != nil {
			return err
		}
		var taken bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM ledgerform_records WHERE workspace = $1 AND address = $2)", s.ws, string(to)).Scan(&taken); err != nil {
			return err
		}
		if taken {
			refused = fmt.Errorf("move %s to %s: %s is in the state already", from, to, to)
			return refused
		}
		r.Address, r.Updated = to, time.Now().UTC()
		raw, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM ledgerform_records WHERE workspace = $1 AND address = $2", s.ws, string(from)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO ledgerform_records (workspace, address, record, serial, updated) VALUES ($1, $2, $3, $4, $5)",
			s.ws, string(to), raw, serial, r.Updated); err != nil {
			return err
		}
		moved = r
		return nil
	})
	if refused != nil {
		return refused
	}
	if err != nil {
		return s.changeError(ctx, "move", from, err)
	}
	s.mu.Lock()
	delete(s.records, from)
	s.records[to] = moved
	s.serial = max(s.serial, serial)
	s.mu.Unlock()
	return nil
}

// changeError is the error of a change the database did not make.
func (s *Store) changeError(ctx context.Context, op string, address report.Address, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		if uerr := s.unfenced(ctx, op, address); uerr != nil {
			return uerr
		}
		return fmt.Errorf("%s %s: %w", op, address, state.ErrLeaseLost) // lost in between
	}
	return &state.UnavailableError{Err: s.dbError(op+" "+string(address), err)}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return s.dbError("ping", err)
	}
	return nil
}

// Close releases the leases and the lock and closes the connections.
// Calling it again does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	held := s.held
	s.held = map[report.Address]*heldLease{}
	s.mu.Unlock()
	if s.stop != nil {
		s.stop()
		s.renewed.Wait()
	}
	for _, h := range held {
		h.cancel(state.ErrLeaseLost)
	}
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.mode == Shared && s.ws != 0 {
		if _, err := s.pool.Exec(ctx, "DELETE FROM ledgerform_leases WHERE workspace = $1 AND owner = $2", s.ws, s.owner); err != nil {
			errs = append(errs, s.dbError("release the leases", err))
		}
	}
	s.lockMu.Lock()
	if s.lock != nil {
		s.lock.Exec(ctx, "DELETE FROM ledgerform_holders WHERE backend_pid = pg_backend_pid()")
		if err := s.lock.Close(ctx); err != nil {
			errs = append(errs, s.dbError("release the lock", err))
		}
		s.lock = nil
	}
	s.lockMu.Unlock()
	if s.pool != nil {
		s.pool.Close()
	}
	return errors.Join(errs...)
}

// takeLock takes the workspace's advisory lock on a connection of its own,
// waiting up to timeout for it.
func (s *Store) takeLock(ctx context.Context, cc *pgx.ConnConfig, timeout time.Duration) error {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return s.dbError("connect", err)
	}
	fn, mode := "pg_try_advisory_lock", "exclusive"
	if s.mode == Shared {
		fn, mode = "pg_try_advisory_lock_shared", "shared"
	}
	start := time.Now()
	for n := 0; ; n++ {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT "+fn+"($1, $2)", int32(lockClass), int32(s.ws)).Scan(&ok); err != nil {
			conn.Close(ctx)
			return s.dbError("lock the workspace", err)
		}
		if ok {
			break
		}
		left := timeout - time.Since(start)
		if left <= 0 || backoff.Sleep(ctx, min(backoff.Jitter(backoff.Exponential(10*time.Millisecond, 500*time.Millisecond, n)), left)) != nil {
			le := s.holder(ctx, conn)
			if timeout > 0 {
				le.Waited = time.Since(start).Round(time.Millisecond)
			}
			conn.Close(ctx)
			return le
		}
	}
	host, _ := os.Hostname()
	_, err = conn.Exec(ctx, `INSERT INTO ledgerform_holders (backend_pid, workspace, mode, host, pid) VALUES (pg_backend_pid(), $1, $2, $3, $4)
		ON CONFLICT (backend_pid, workspace) DO UPDATE SET mode = EXCLUDED.mode, host = EXCLUDED.host, pid = EXCLUDED.pid, since = now()`,
		s.ws, mode, host, os.Getpid())
	if err == nil {
		// Rows of sessions that hold no lock any more.
		_, err = conn.Exec(ctx, `DELETE FROM ledgerform_holders h WHERE NOT EXISTS (SELECT 1 FROM pg_locks l
			WHERE l.locktype = 'advisory' AND l.granted AND l.pid = h.backend_pid AND l.classid = $1 AND l.objid = h.workspace)`, int32(lockClass))
	}
	if err != nil {
		conn.Close(ctx)
		return s.dbError("lock the workspace", err)
	}
	var pid int32
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		conn.Close(ctx)
		return s.dbError("lock the workspace", err)
	}
	s.lockMu.Lock()
	s.lock = conn
	s.lockMu.Unlock()
	s.lockPID.Store(pid)
	return nil
}

// relock checks, for a Shared Store, that the session holding the
// workspace's shared lock is alive, and takes the lock again on a new one
// if it is not (the server restarted, the connection was cut): until then
// the fence refuses every change. An apply that took the lock meanwhile
// keeps it; the daemon then waits for it to finish.
func (s *Store) relock(ctx context.Context) {
	s.lockMu.Lock()
	conn := s.lock
	s.lockMu.Unlock()
	if conn != nil && conn.Ping(ctx) == nil {
		return
	}
	s.lockPID.Store(0)
	if conn != nil {
		conn.Close(ctx)
	}
	if err := s.takeLock(ctx, s.cc, 0); err != nil {
		s.lockMu.Lock()
		s.lock = nil
		s.lockMu.Unlock()
	}
}

// holder is the *state.LockedError of the workspace's lock, naming a
// holder if one is known.
func (s *Store) holder(ctx context.Context, conn *pgx.Conn) *state.LockedError {
	le := &state.LockedError{Path: s.target + " workspace " + s.name}
	var pid int
	conn.QueryRow(ctx, `SELECT h.host, h.pid, h.since FROM pg_locks l JOIN ledgerform_holders h ON h.backend_pid = l.pid AND h.workspace = $2
		WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 ORDER BY h.since LIMIT 1`,
		int32(lockClass), s.ws).Scan(&le.Host, &pid, &le.Since)
	le.PID = pid
	return le
}

// parseURL reads a state URL: pgx's configuration, the workspace
// parameter, the database named without password, and the password.
func parseURL(raw string) (cfg *pgxpool.Config, workspace, target, pw string, err error) {
	u, err := url.Parse(raw)
	if err != nil && (strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://")) {
		// url's error quotes the URL, and so the password: not given.
		return nil, "", "", "", errors.New("the state URL does not parse: percent-encode any %, #, ?, /, @, : or space in its user name or password (%25, %23, %3F, %2F, %40, %3A, %20), or give the password in PGPASSWORD or a pgpass file instead")
	}
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, "", "", "", errors.New("the state URL is not a postgres:// URL")
	}
	if u.User != nil {
		pw, _ = u.User.Password()
	}
	q := u.Query()
	workspace = q.Get("workspace")
	q.Del("workspace")
	u.RawQuery = q.Encode()
	cfg, err = pgxpool.ParseConfig(u.String())
	if err != nil {
		safe := *u
		if safe.User != nil {
			safe.User = url.User(safe.User.Username())
		}
		return nil, "", "", "", fmt.Errorf("the state URL %s does not parse: %s", safe.Redacted(), redact(err.Error(), pw))
	}
	cc := cfg.ConnConfig
	target = fmt.Sprintf("postgres://%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
	if strings.HasPrefix(cc.Host, "/") {
		target = fmt.Sprintf("postgres://%s@[%s]:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
	}
	return cfg, workspace, target, pw, nil
}

// redact replaces the password, as it is and as a URL encodes it, in msg.
func redact(msg, pw string) string {
	if pw == "" {
		return msg
	}
	for _, p := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw), url.UserPassword("u", pw).String()[2:]} {
		if p != "" {
			msg = strings.ReplaceAll(msg, p, "[redacted]")
		}
	}
	return msg
}
