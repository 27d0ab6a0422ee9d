// Package state records what ledgerform has done: one Record per report,
// stored durably (snapshot + journal), locked against a second process, and
// versioned. It knows nothing about HTTP.
//
// # Files
//
// A state is a directory, <workdir>/.ledgerform, mode 0700, holding files of
// mode 0600 (statements and reports are personal financial data; the modes
// are set explicitly, whatever the umask):
//
//	state.json          the snapshot: every record as of one serial
//	journal             the changes since the snapshot, one line each
//	lock                flock'ed by the process that has the state open
//	.state.json.tmp-*   a snapshot being written; removed by Open if a crash left it
//	.journal.tmp-*      the same for a journal being replaced by a compaction
//
// Open and OpenReadOnly refuse a state.json, journal or lock that is not a
// regular file (a named pipe would block them, a symbolic link to
// /dev/zero never let them finish), or that is larger than any state file
// (1 GiB), with a *NotStateFileError naming the path and what is there,
// without reading it. They Lstat the path before opening it, open it
// O_NONBLOCK and O_NOFOLLOW, and check the handle again, so that a file
// swapped in between cannot block them either.
//
// A checksummed line, in both files, is the CRC-32C (Castagnoli) of its
// JSON in 8 lowercase hex digits, a space, the JSON, and a newline. A
// changed byte anywhere in it (a phase "completed" read as "complfted", a
// digit of an id) makes the checksum wrong, and the line is refused as
// damaged rather than read as something else.
//
// The snapshot (format version 4) is a version line, a header, the
// records sorted by address, one a line, and a trailer; every line but
// the first is checksummed, and the header and the trailer count the
// records, so that a missing, repeated or added line is damage too:
//
//	{"version":4}
//	47d09658 {"lineage":"…","serial":42,"records":2,"specs":[{"operations":[…],"country":"uk"}]}
//	d001e124 {"address":"report.a","spec":0,"statements":[…],"output":…,"files":[{"size":…,…}],…}
//	4b3983ae {"address":"report.b","spec":0,…}
//	fd958d65 {"end":true,"records":2}
//
// The records are lean: the operations, country and params that many
// records share (a drop folder's reports all do) are written once, in the
// header's table of specs, which each record names by number, and a file's
// path is left out when it is the statement's (or the output's) it
// fingerprints. A record line is what encoding/json writes for it; it is
// read by a reader that expects exactly that layout, with encoding/json
// (strict) for any other line, and the records of a batch of lines are cut
// from a few large allocations: a load is about 5× faster than version 2's.
// Version 4 is version 3 with optional fields: a record's endpoint (the
// API its ids and result came from), kept in the header's table of specs
// since a state's records mostly share it; reused_from, the report whose
// completed result a record's output was copied from; and revision, the
// revision of the manifests it was applied from. Version 3 snapshots are
// read by the same reader.
//
// The version line is plain JSON, compared whole: every ledgerform reads
// it first (version 1 did too), so a newer snapshot is refused as newer
// (a *VersionError), never as damaged. The records are decoded on every
// CPU. Older snapshots are read and migrated: version 2 (the same lines,
// each record a Record's JSON in full, no specs), and version 1 (no
// checksums, one JSON object laid out as {"version":1,…,"records":[ then
// a record a line, each but the last with a comma, then ]}) if it is in
// exactly that layout. Reading one writes nothing (plan and state list
// leave it as it is); the next compaction rewrites it as version 3, and
// Close compacts a state whose snapshot is of an older version, so the
// first apply, watch or state command after an upgrade migrates it.
//
// Each journal line is a checksummed line:
//
//	1c291ca3 {"v":1,"lineage":"…","serial":43,"op":"put","address":"report.a","record":{…}}
//	9e0f0b71 {"v":1,"lineage":"…","serial":44,"op":"delete","address":"report.b"}
//	5d2a7c40 {"v":2,"lineage":"…","serial":45,"op":"move","address":"report.c","from":"report.a","record":{…}}
//
// The lineage is a random id chosen when the state is created (it is first
// written with the first change) and never changed; the serial counts
// changes. Each journal line carries both, and its format version (the
// journal's lines have their own), so that a journal never continues the
// wrong snapshot and a newer format is refused at its first line as well
// as in the snapshot (a *VersionError asks for a newer ledgerform). A line
// is written at the oldest version that has its operation: put and delete
// at 1, unchanged since the first ledgerform, which therefore still reads
// such a journal; move (Store.Move: a put and a delete as one change) at
// 2, so that an older ledgerform refuses it as newer; a put or move of a
// record with an endpoint, a reused result or a revision at 3, since an
// older ledgerform would drop those fields unseen.
//
// # Durability
//
// Put, Delete and Move append one line to the journal and fsync it before
// they return: O(1) disk work per change, whatever the size of the state. Writers
// from several goroutines append in turn while one of them fsyncs; the next
// fsync then covers all of their lines (group commit).
//
// When the journal outgrows max(1000, 2×records) lines, and at Close if it
// has any, the Put that noticed compacts the state, in three steps:
//
//  1. Under the Store's mutex, take the records as of the last change,
//     serial S: a copy of the map's pointers, enough because a record in
//     the map is never changed in place (a Put stores a fresh copy; Get
//     and Records hand out copies).
//  2. Without the mutex, so that Get, Records, Put and Delete go on, write
//     that view as the new snapshot at serial S (internal/fsutil.WriteAtomic:
//     a temp file .state.json.tmp-*, fsynced, renamed over state.json, the
//     directory fsynced). Puts meanwhile append to the journal and fsync it
//     as usual.
//  3. Under the mutex again, replace the journal by a file holding only its
//     lines after S, the ones appended during step 2, the same way (a temp
//     file .journal.tmp-*, fsynced, renamed over journal, the directory
//     fsynced), and append to that from then on. A Put whose line was
//     appended but not yet fsynced is told it is durable only once the new
//     journal is in place.
//
// Loading reads the snapshot, then replays the journal lines whose serial is
// above the snapshot's, skipping the lines at or below it. The serials of
// the replayed lines must follow on from the snapshot's with no gap. A
// damaged last line of the journal (incomplete, or its checksum wrong) is
// dropped, Open truncates it away, and Store.Warnings names its file and
// line for the caller to print (OpenReadOnly does not warn of a last line
// merely without its newline: without the lock it may be an append under
// way). Anything else — a damaged snapshot line, a snapshot with lines
// missing or added, a damaged journal line with any line after it, a
// serial 0, a gap in the serials, another lineage — is refused with a
// *CorruptError naming the file and line: the state is never silently
// reset.
//
// Why a kill -9 at any instant loses no acknowledged change and never
// leaves the state unreadable: the kernel keeps every write and rename a
// killed process had made; only the system call under way may be cut
// short, and a rename is never half done. So what is on disk is one of:
//
//   - In an append, before or after its fsync: the journal ends with the
//     line, whole or cut short. A cut line is the last one, not
//     acknowledged (its Put was still waiting), and is dropped on load.
//   - In step 2 before the rename: the old snapshot and the journal as it
//     is, with every change after the old snapshot; the temp file is swept
//     by the next Open.
//   - Between the renames of steps 2 and 3: the new snapshot at S and the
//     old journal. Its lines up to S are skipped, those after S replayed;
//     they follow on from S because the journal has every serial.
//   - After the rename of step 3: the new snapshot and a journal of exactly
//     the lines after S.
//
// The order is what keeps a crash from pairing the old snapshot with the
// new journal, which would be a gap: step 3 starts only after the new
// snapshot's rename is durable (its directory fsynced), and when that fails
// the old journal is kept. And no acknowledged change is ever only in a
// file a crash can lose: one acknowledged before step 3 is fsynced in the
// old journal, which stays in place until the new one, holding a copy of
// its line, is fsynced and renamed; one whose line was appended but not
// fsynced when step 3 began is acknowledged only once the new journal's
// rename is durable. No instant leaves a file that load refuses: a snapshot
// is only ever seen whole, a journal is only ever cut short at its end, and
// it is only ever replaced by one that continues a snapshot already in
// place.
//
// A power cut keeps what was fsynced, and so every acknowledged change, by
// the same argument (a file is fsynced before its rename, the directory
// after it). It may also keep some of the pages written after the last
// fsync and not others: a journal may then end with a damaged line followed
// by another line, neither acknowledged, which load refuses with a
// *CorruptError rather than guess which is the damage.
//
// After a failed write or fsync a Store takes no more changes (the kernel
// may have dropped the unwritten pages, so retrying the fsync could report
// success for lost data); so does a Store whose new journal was renamed
// into place but could not be made durable. Reopening the state recovers
// every acknowledged change. docs/state-format.md has the same argument at
// more length.
//
// # Locking
//
// Open takes flock(LOCK_EX|LOCK_NB) on the lock file and holds it until
// Close; a second Open, in this process or another, fails at once with a
// *LockedError naming the holder's pid, host and start time, which the
// holder writes into the lock file; OpenWait tries again, with a
// short backoff, until the lock is free or the wait is over (flock has no
// timeout of its own, and a blocking flock could not be given up). The
// kernel releases a flock when its process dies, so a lock left by a dead
// process never blocks. flock is not
// reliable on network file systems: keep the working directory on a local
// disk.
//
// OpenReadOnly takes no lock and writes nothing, and so may read while the
// writer compacts. It reads the snapshot, then the journal, and reads both
// again if the snapshot changed meanwhile: since the snapshot is replaced
// before the journal, a new journal read after an old snapshot (which
// would look like missing changes) means the snapshot changed. The other
// mixes are consistent: the new snapshot with the old journal is what a
// crash in compaction leaves, and a file already open is read whole,
// whatever is renamed over its name.
//
// # Secrets
//
// A Record holds no secret: no credential, token or statement content, only
// paths, sizes, digests, request ids and error messages. Keep it that way
// when adding fields: the state files are not encrypted.
package state
