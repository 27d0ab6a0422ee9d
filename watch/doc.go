// Package watch watches directories (never single files) with fsnotify and
// reports, debounced, which paths changed in them, and when files dropped
// into drop folders are complete. It is the filesystem side of the
// `ledgerform watch` daemon: it decides nothing about what to reconcile.
//
// # Directories, not files
//
// Editors save by writing a new file and renaming it over the old one, and
// a watch on a file follows its inode, so a watch on a manifest is lost on
// the first save. A Watcher therefore only ever adds fsnotify watches on
// directories: the manifest directory, the directories of referenced
// statements and the drop folders, as given to [Watcher.Set]. It reports the
// entries directly inside them (files, and subdirectory entries as plain
// paths); subdirectories are not watched. Events are treated as "something
// happened at this path": the consumer re-reads the path (os.Lstat, read)
// and never interprets the kind of event. A Chmod counts too (a remove is
// reported as Chmod on Linux while the file is still open); the consumer
// re-stats and finds nothing changed.
//
// Temporary and hidden names (".*", "*~", "*.tmp", "*.part", "*.swp"; see
// [spec.IsTemporary], which this package uses so that the daemon and the
// manifest loader agree) are never reported.
//
// # Bursts
//
// A burst of events ends when no event arrived for [Config.Debounce]; the
// Watcher then emits one [Batch] with every path of the burst, so a
// `git checkout` that rewrites twenty manifests is one batch. So that a
// never-ending storm cannot starve the consumer, a burst is cut after at
// most 10×Debounce.
//
// # Drop folders
//
// fsnotify does not expose close-after-write, and a Write event does not
// mean the write has finished. A file in a drop folder is reported only
// once it is complete:
//
//   - every event on it (Create, Write, Chmod, a rename into the folder,
//     or [Watcher.Track]) restarts its quiet period of [Config.Quiet];
//   - when the quiet period ends, the file is stat'ed (os.Lstat; anything
//     but a regular file is dropped). It is complete if its mtime is at
//     least Quiet ago ([Complete]), or if its size and mtime equal those of
//     the previous check, Quiet earlier. Otherwise it is checked again after
//     another Quiet. The mtime rule is what makes a file that arrived by
//     rename (fsnotify cannot tell a rename-in from a create, but such a
//     file is stable at once) complete at the first check, and the
//     comparison covers a file whose mtime is in the future.
//
// A complete drop file is sent at once, without waiting for a debounce,
// so the latency from the last event on a drop file to its Batch is Quiet
// plus timer slack (about a millisecond; see BenchmarkDropLatency), plus
// however long the consumer takes to receive.
//
// A drop file that is removed or renamed away is reported at the end of the
// burst like any path, so the consumer can see it gone. A new event on a
// drop file withdraws it from any batch not yet received: a path in a drop
// folder is never offered while it is being written. Once reported, a file
// is forgotten: a later event on it (even a Chmod from a backup tool) makes
// it reported again once quiet, and the consumer compares it with what it
// already took. Producers that want the lowest latency and no risk of a
// stalled writer being taken early write elsewhere on the same file system
// (or under a temporary name) and rename into the folder.
//
// # Resync
//
// fsnotify loses events in ways that cannot be repaired from events alone.
// A Batch with Resync set tells the consumer to rescan everything. It is
// sent when the kernel queue overflowed ([fsnotify.ErrEventOverflow]) or
// fsnotify reported any other error, when a watched directory was removed
// or renamed and when it is back, when a directory given to Set that did
// not exist appears, and when a watch could not be added (and again once
// a retry succeeds).
//
// A directory that does not exist (or is not a directory) is watched for:
// the Watcher watches its nearest existing ancestor, follows the path down
// as its components appear, and adds the directory's own watch once it is
// there. Files created in it before its watch was in place are found by
// the consumer's rescan. A watch that cannot be added for another reason
// (permissions, fs.inotify.max_user_watches exhausted) is logged at Warn
// and retried with backoff from 1s to 1min. A watch lost without an event
// (the file system under it unmounted) is not noticed: the daemon's
// periodic resync covers it.
//
// # Concurrency
//
// One goroutine owns all state: the watched directories, the burst being
// collected, the per-file quiet periods (a heap under one timer, not a
// timer per file), and the batch waiting for the consumer. It reads
// fsnotify's Events and Errors (an unread Errors channel blocks fsnotify's
// reader), requests from Set and Track, its timers, and the done channel,
// and it never blocks on the consumer: while the consumer is busy, new
// paths are merged into the one pending Batch (union of Paths, OR of
// Resync). Handling an event is O(1) and does no I/O; a drop file is
// stat'ed only when its quiet period ends, and the file system is walked
// only when a watched directory (or the path towards a missing one)
// changes.
//
// # Logging
//
// Events are logged at Debug, watch problems at Warn with the path, naming
// the sysctl to raise where a kernel limit was hit.
package watch
