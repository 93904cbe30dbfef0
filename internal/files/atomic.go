// Package files writes files atomically and hashes them: the two file-system chores that every
// part of Mimicry shares (checkpoints, answer keys, indexes, reports, kernelspecs).
package files

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a file being written atomically. Its bytes go to a temporary file in the directory of its
// path and reach the path only through Commit, which flushes, syncs and renames the temporary file
// into place; Abort, or a failed Commit, removes the temporary file. A reader of the path therefore
// sees the old content or the new, never a torn file, and a failed write leaves nothing behind.
// Writes are buffered (File embeds a *bufio.Writer).
type File struct {
	*bufio.Writer
	tmp  *os.File
	path string
	perm fs.FileMode
}

// Create starts writing path. The committed file gets permissions perm; 0 means those of the file
// already at path, or 0644 (before umask) for a new one. The directory must exist.
func Create(path string, perm fs.FileMode) (*File, error) {
	if perm == 0 {
		perm = 0o644
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			perm = st.Mode().Perm()
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &File{Writer: bufio.NewWriterSize(tmp, 1<<20), tmp: tmp, path: path, perm: perm}, nil
}

// Path is the file's final path.
func (f *File) Path() string { return f.path }

// Abort discards what was written. It is safe to call after Commit and more than once.
func (f *File) Abort() {
	if f.tmp != nil {
		f.tmp.Close()
		os.Remove(f.tmp.Name())
		f.tmp = nil
	}
}

// Commit moves the file into place (see File).
func (f *File) Commit() error { return Commit(f) }

// Commit moves several files into place together: each is flushed, synced and closed first, then
// they are renamed in order. When any step fails, every temporary file is removed and the files
// already renamed are removed too, so that either all of them appear or none does (e.g. an answer
// key and its metadata sidecar).
func Commit(files ...*File) (err error) {
	renamed := 0
	defer func() {
		if err == nil {
			return
		}
		for _, f := range files[:renamed] {
			os.Remove(f.path)
		}
		for _, f := range files {
			f.Abort()
		}
	}()
	for _, f := range files {
		if f.tmp == nil {
			return fmt.Errorf("%s: already committed or aborted", f.path)
		}
		if err = f.Flush(); err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		if err = f.tmp.Chmod(f.perm); err != nil {
			return err
		}
		if err = f.tmp.Sync(); err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		if err = f.tmp.Close(); err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
	}
	for _, f := range files {
		if err = os.Rename(f.tmp.Name(), f.path); err != nil {
			return err
		}
		f.tmp = nil
		renamed++
	}
	return nil
}

// Write writes path atomically through write (see File; perm as for Create).
func Write(path string, perm fs.FileMode, write func(w io.Writer) error) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// WriteBytes writes data to path atomically (perm as for Create).
func WriteBytes(path string, data []byte, perm fs.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteJSON writes v to path atomically as indented JSON (two spaces) with a final newline: the
// form of every JSON report and configuration file Mimicry writes.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return WriteBytes(path, append(data, '\n'), 0)
}
