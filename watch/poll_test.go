package watch

import (
	"path/filepath"
	"testing"
	"time"
)

// testPoll is Config.Poll for the tests that start() runs: 0 (fsnotify),
// except under TestWatcher_Poll.
var testPoll time.Duration

// TestWatcher_Poll runs the scenarios that do not look at fsnotify's own
// watches again with Config.Poll, which scans instead of asking fsnotify:
// the same batches, and the same completeness rule for dropped files (a
// slow write is reported once whole, a rename-in once, a removal once).
func TestWatcher_Poll(t *testing.T) {
	testPoll = 50 * time.Millisecond
	defer func() { testPoll = 0 }()
	for _, c := range []struct {
		name string
		test func(*testing.T)
	}{
		{"EditorSave", TestWatcher_EditorSave},
		{"Burst", TestWatcher_Burst},
		{"Subdirectory", TestWatcher_Subdirectory},
		{"DropSlowWrite", TestWatcher_DropSlowWrite},
		{"DropRename", TestWatcher_DropRename},
		{"DropTemporaryNames", TestWatcher_DropTemporaryNames},
		{"DropRemove", TestWatcher_DropRemove},
		{"Track", TestWatcher_Track},
		{"DirRemovedAndRecreated", TestWatcher_DirRemovedAndRecreated},
		{"NestedDirs", TestWatcher_NestedDirs},
		{"NoFsnotify", testPollNoFsnotify},
	} {
		t.Run(c.name, c.test)
	}
}

// testPollNoFsnotify: with Poll, no fsnotify watcher is started at all, and
// a file written in a watched dir is found by the scan.
func testPollNoFsnotify(t *testing.T) {
	dir := t.TempDir()
	w := start(t, Config{}, Dir{Path: dir})
	if w.fs != nil {
		t.Fatal("an fsnotify watcher was started with Poll")
	}
	expect(t, w, write(t, filepath.Join(dir, "m.yaml"), "reports: []"))
}
