package state

// Crash abandons s as a killed process would, for the tests of package
// state_test: no compaction, the lock released.
func Crash(s *Store) { crash(s) }
