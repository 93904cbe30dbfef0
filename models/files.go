package models

import (
	"errors"
	"os"
	"path/filepath"
)

// errorsAs is errors.As, named so config.go reads plainly.
func errorsAs(err error, target any) bool { return errors.As(err, target) }

// writeFileAtomic writes data to a temporary file beside path and renames it into place, so that a
// crash never leaves a half-written file at path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}
