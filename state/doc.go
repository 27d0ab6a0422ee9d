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
//
// A checksummed line, in both files, is the CRC-32C (Castagnoli) of its
// JSON in 8 lowercase hex digits, a space, the JSON, and a newline. A
// changed byte anywhere in it (a phase "completed" read as "complfted", a
// digit of an id) makes the checksum wrong, and the line is refused as
// damaged rather than read as something else.
//
// The snapshot (format version 2) is a version line, a header, the
// records sorted by address, one a line, and a trailer; every line but
// the first is checksummed, and the header and the trailer count the
// records, so that a missing, repeated or added line is damage too:
//
//	{"version":2}
//	78919aad {"lineage":"…","serial":42,"records":2}
//	2632207c {"address":"report.a",…}
//	4f6e10fd {"address":"report.b",…}
//	fd958d65 {"end":true,"records":2}
//
// The version line is plain JSON, compared whole: every ledgerform reads
// it first (version 1 did too), so a newer snapshot is refused as newer
// (a *VersionError), never as damaged. The records are decoded on every
// CPU. A version 1 snapshot (no checksums, one JSON object laid out as
// {"version":1,…,"records":[ then a record a line, each but the last with
// a comma, then ]}) is read if it is in exactly that layout, and the next
// compaction rewrites it as version 2; Close compacts a state whose
// snapshot is of an older version.
//
// Each journal line is a checksummed line:
//
//	1c291ca3 {"v":1,"lineage":"…","serial":43,"op":"put","address":"report.a","record":{…}}
//	9e0f0b71 {"v":1,"lineage":"…","serial":44,"op":"delete","address":"report.b"}
//
// The lineage is a random id chosen when the state is created (it is first
// written with the first change) and never changed; the serial counts
// changes. Each journal line carries both, and its format version (1: the
// journal's lines have their own version, unchanged since the first), so
// that a journal never continues the wrong snapshot and a newer format is
// refused at its first line as well as in the snapshot (a *VersionError
// asks for a newer ledgerform).
//
// # Durability
//
// Put and Delete append one line to the journal and fsync it before they
// return: O(1) disk work per change, whatever the size of the state. Writers
// from several goroutines append in turn while one of them fsyncs; the next
// fsync then covers all of their lines (group commit). When the journal
// outgrows max(1000, 2×records) lines, and at Close if it has any, the
// records are compacted into a new snapshot: written to a temp file in the
// directory, fsynced, renamed over state.json, the directory fsynced
// (internal/fsutil.WriteAtomic), and only then is the journal truncated and
// fsynced.
//
// Loading reads the snapshot, then replays the journal lines whose serial is
// above the snapshot's; lower ones are what a crash between a compaction's
// rename and its truncation leaves, and are already in the snapshot. The
// serials of the replayed lines must follow on from the snapshot's with no
// gap. A crash during an append can leave the journal's tail damaged
// (incomplete, or its checksum wrong); those changes were never
// acknowledged, so a damaged tail is dropped (and Open truncates it away).
// Anything else — a damaged snapshot line, a snapshot with lines missing or
// added, a damaged journal line with intact lines after it, a gap in the
// serials, another lineage — is refused with a
// *CorruptError naming the file and line: the state is never silently reset.
// So a kill -9 at any instant loses no acknowledged change and never leaves
// the state unreadable.
//
// After a failed write or fsync a Store takes no more changes (the kernel
// may have dropped the unwritten pages, so retrying the fsync could report
// success for lost data); reopening the state recovers every acknowledged
// change.
//
// # Locking
//
// Open takes flock(LOCK_EX|LOCK_NB) on the lock file and holds it until
// Close; a second Open, in this process or another, fails at once with a
// *LockedError naming the holder's pid, host and start time, which the
// holder writes into the lock file. The kernel releases a flock when its
// process dies, so a lock left by a dead process never blocks. flock is not
// reliable on network file systems: keep the working directory on a local
// disk. OpenReadOnly takes no lock and writes nothing; it reads again if a
// compaction replaced the snapshot while it read.
//
// # Secrets
//
// A Record holds no secret: no credential, token or statement content, only
// paths, sizes, digests, request ids and error messages. Keep it that way
// when adding fields: the state files are not encrypted.
package state
