//go:build !unix

package state

import (
	"fmt"
	"os"
	"runtime"
)

// openNoFollow is 0 where there is no O_NOFOLLOW: the Lstat before the
// open and the fstat after it refuse a symbolic link.
const openNoFollow = 0

func acquireLock(dir string) (*os.File, error) {
	return nil, fmt.Errorf("lock state %s: locking is not implemented on %s", dir, runtime.GOOS)
}

func releaseLock(f *os.File) error { return f.Close() }
