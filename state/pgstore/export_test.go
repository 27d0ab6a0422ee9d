package pgstore

import "context"

// Crash abandons s as a killed process would: its connections close,
// nothing is released (its leases stay until they expire).
func Crash(s *Store) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		s.stop()
		s.renewed.Wait()
	}
	s.lockMu.Lock()
	if s.lock != nil {
		s.lock.Close(context.Background())
	}
	s.lockMu.Unlock()
	s.pool.Close()
}
