package download

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Extract unpacks the archive at file into the directory dest (created if needed). The format is told by
// the file's first bytes (gzip, zip, or a plain tar), so a .tar.gz that a server delivered already
// decompressed still unpacks. Entries whose names are absolute or climb out of dest with "..", symbolic
// links and special files (devices, FIFOs) are errors; nothing is written outside dest.
func Extract(file, dest string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(512)
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("download: %s: %w", file, err)
		}
		defer zr.Close()
		return wrapExtract(file, extractTar(zr, dest))
	case bytes.HasPrefix(magic, []byte("PK\x03\x04")) || bytes.HasPrefix(magic, []byte("PK\x05\x06")):
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		return wrapExtract(file, extractZip(f, fi.Size(), dest))
	case len(magic) >= 262 && string(magic[257:262]) == "ustar":
		return wrapExtract(file, extractTar(br, dest))
	}
	return fmt.Errorf("download: %s: not a gzip, tar or zip archive", file)
}

func wrapExtract(file string, err error) error {
	if err != nil {
		return fmt.Errorf("download: unpacking %s: %w", file, err)
	}
	return nil
}

// safeJoin returns dest/name, failing when name is absolute or climbs out of dest with "..".
func safeJoin(dest, name string) (string, error) {
	name = strings.ReplaceAll(name, `\`, "/")
	if path.IsAbs(name) || len(name) >= 2 && name[1] == ':' {
		return "", fmt.Errorf("entry %q has an absolute path", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q leaves the target directory", name)
		}
	}
	return filepath.Join(dest, filepath.FromSlash(path.Clean(name))), nil
}

func extractTar(r io.Reader, dest string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p, err := safeJoin(dest, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg, tar.TypeRegA:
			if err := writeEntry(p, tr, h.FileInfo().Mode()); err != nil {
				return err
			}
		case tar.TypeSymlink:
			// None of the collections needs one, and a symlink could lead later entries out of dest.
			return fmt.Errorf("entry %q is a symbolic link (to %q), which is not unpacked", h.Name, h.Linkname)
		case tar.TypeLink:
			target, err := safeJoin(dest, h.Linkname)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.Link(target, p); err != nil {
				return err
			}
		case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
			// Metadata for the reader; archive/tar applies it.
		default:
			return fmt.Errorf("entry %q has unsupported type %q", h.Name, h.Typeflag)
		}
	}
}

func extractZip(r io.ReaderAt, size int64, dest string) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return err
	}
	for _, zf := range zr.File {
		p, err := safeJoin(dest, zf.Name)
		if err != nil {
			return err
		}
		mode := zf.Mode()
		switch {
		case mode.IsDir() || strings.HasSuffix(zf.Name, "/"):
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case mode.IsRegular():
			rc, err := zf.Open()
			if err != nil {
				return err
			}
			err = writeEntry(p, rc, mode)
			rc.Close()
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q is not a regular file or directory (%v)", zf.Name, mode)
		}
	}
	return nil
}

// writeEntry writes one archive member, readable by all and executable when the archive says so.
func writeEntry(p string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
