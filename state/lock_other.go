//go:build !unix

package state

import (
	"fmt"
	"os"
	"runtime"
)

func acquireLock(dir string) (*os.File, error) {
	return nil, fmt.Errorf("lock state %s: locking is not implemented on %s", dir, runtime.GOOS)
}

func releaseLock(f *os.File) error { return f.Close() }
