// Package pgstore keeps ledgerform's state in PostgreSQL, for a state that
// outlives one machine and daemons on several machines that share one
// working directory's reports. It implements the same Store contract as
// the file store (package state/storetest), and adds what sharing needs:
// a workspace lock and per-report leases.
//
// # Connecting
//
// Open takes a postgres:// URL (--state URL or LEDGERFORM_STATE), read by
// pgx as libpq reads it; the password comes from PGPASSWORD or a pgpass
// file (PGPASSFILE, else ~/.pgpass), never from a manifest. A password
// that a URL does carry is used, but never printed: every message names
// the database as postgres://user@host:port/database, and an error text
// that would quote it has it replaced. The URL's own parameter workspace
// names the workspace (below); every other parameter is pgx's.
//
// # Schema
//
// The tables are ledgerform_*, created and migrated by Open from the SQL
// files embedded from migrations/ (NNN_name.sql, applied in order, each in
// the transaction that records it in ledgerform_schema, under a
// transaction-level advisory lock so that two processes starting at once
// do not both migrate). A database whose schema is newer than this
// ledgerform knows is refused with a *state.VersionError, and nothing is
// written. A read-only Open creates and migrates nothing: it reads an older
// schema as it is (its records table has not changed) and a database with
// none as an empty state.
//
// # Workspaces
//
// Several working directories share one database, each as a workspace of
// its own: a row of ledgerform_workspaces (name, lineage, serial) that its
// records belong to. The name is the URL's workspace parameter, else what
// the caller gives (ledgerform: the base name of the working directory, so
// that checkouts of one repository on two machines meet in one workspace).
//
// # Records and durability
//
// A record is one row (address, the record as JSON, the serial of its last
// change). Put, Delete and Move are one transaction each, committed before
// they return: the reconciler records every transition before its next
// remote call, so a process killed at any instant resumes from the last
// recorded request id. A change the database refuses or cannot be asked
// for is a *state.UnavailableError: the report stops there, and is tried
// again later; nothing is lost, since nothing was sent after it.
//
// Reads answer from memory: the records as loaded by Open, as changed by
// this Store since, and as Refresh and Claim read them again. A process
// that is the workspace's only writer (apply, which holds the exclusive
// lock) therefore sees exactly the database; daemons that share it read
// each report afresh when they claim it, and every record at each resync.
//
// # Locks
//
// A writable Store takes the workspace's advisory lock (key
// 0x4c46, workspace id) on a connection of its own and holds it until
// Close: Exclusive (apply, state rm/mv, import) fails at once, or after
// the lock timeout, with a *state.LockedError naming the holder's host and
// pid (kept in ledgerform_holders); Shared (watch) shares it with other
// daemons and excludes an apply. PostgreSQL releases the lock when the
// session ends, so a killed process never blocks the next. A read-only
// Store (plan) takes none.
//
// Every change checks, in the statement that makes it, that the Store's
// lock session still holds the lock (pg_locks): a lock lost with its
// connection (the server restarted, the connection was cut) stops every
// change with ErrLockLost, retryably, rather than let a second writer in
// beside it. An Exclusive Store must then be opened again; a Shared one
// takes the shared lock again by itself at its next lease renewal.
//
// # Leases
//
// A Shared Store's daemons share the reports by leases (ledgerform_leases:
// address, owner, expiry by the database's clock). Claim takes a report's
// lease without waiting for anyone: SELECT … FOR UPDATE SKIP LOCKED on its
// lease row, then take it if there is none, it has expired or it is this
// Store's; otherwise a *state.HeldError names the owner and the expiry.
// It reads the report's record afresh in the same transaction. A goroutine
// of the Store renews its leases every third of the lease time; a lease it
// finds taken, or cannot renew before a third of the lease time is left,
// is lost: its context is cancelled with state.ErrLeaseLost. Each lease is
// judged by its own claim and renewals: how long it surely lasts is
// counted from the start of the last statement that set its expiry, and a
// lease claimed while a renewal's statement ran is not in that
// statement's answer, so it is not taken for lost. Hold renews one lease
// at once, in a committed write, for a call that must not be made twice
// (the reconciler's processing request: reconcile.Holder), and returns the
// instant by which that call must have ended: half the lease time after
// the renewal's start, while no other process can take the lease until
// the whole lease time has passed.
//
// Every change a Shared Store makes to a report is fenced by its lease:
// the statement that writes the record checks, in the same transaction,
// that this Store owns the lease and that a third of the lease time is
// still left, and refuses the change (state.ErrLeaseLost) otherwise. Since
// the reconciler makes a remote call only after recording the transition
// before it, a daemon that lost a lease makes no further request for that
// report: the new holder reads the recorded ids and resumes from them, and
// never sends a second processing request for a report that has one
// recorded. A daemon killed with SIGKILL holds its leases until they
// expire: the lease time is how long its reports wait before another
// daemon resumes them.
package pgstore
