//go:build !unix

package gitsource

// lockDir locks nothing where there is no flock: the process's own steps
// are still serialised by Source.mu.
func lockDir(string) (func(), error) { return func() {}, nil }
