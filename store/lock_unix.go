//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
)

// lockExclusiveNB tries to lock f exclusively without waiting; ok is false
// when another open file holds a lock on it.
func lockExclusiveNB(f *os.File) (ok bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// lockShared locks f shared, waiting for an exclusive holder (it converts
// an exclusive lock of f's own).
func lockShared(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
