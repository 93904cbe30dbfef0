// Package download fetches public retrieval collections into a local cache: resumable HTTP downloads
// into a ".part" file (HTTP Range), SHA-256 verification, and unpacking of .tar.gz, .tgz, .tar and .zip
// archives. Registry lists the collections it knows (the Glasgow IR group's classic test collections,
// BEIR datasets, MS MARCO passage files); Install puts one in the cache and returns a path that
// datasets.Load reads through Entry.Spec.
//
// The cache lives in $MIMICRY_CACHE, or else in os.UserCacheDir()/mimicry:
//
//	<cache>/downloads/<name>/<file>        downloaded files (<file>.part while incomplete)
//	<cache>/<name>/                        the unpacked collection
//	<cache>/checksums.json                 SHA-256 sums recorded on first download
//
// Offline, Install fails with a *NetworkError that says which URL to fetch by hand and where to put it.
package download

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mimicry-ir/mimicry/internal/files"
)

// CacheDir returns the cache directory: $MIMICRY_CACHE when set, else os.UserCacheDir()/mimicry.
func CacheDir() (string, error) {
	if d := os.Getenv("MIMICRY_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("download: no cache directory (set MIMICRY_CACHE): %w", err)
	}
	return filepath.Join(d, "mimicry"), nil
}

// Downloader fetches entries into a cache directory.
type Downloader struct {
	// Dir is the cache directory.
	Dir string
	// Client makes the HTTP requests; nil means a client with a 30 s connection timeout and no overall
	// timeout (downloads can take long).
	Client *http.Client
	// Log receives progress messages; nil means silence.
	Log io.Writer
	// KeepArchives keeps downloaded archives after unpacking them (by default they are deleted once
	// unpacked, since the unpacked collection is what is used).
	KeepArchives bool

	mu sync.Mutex // guards checksums.json
}

// New returns a Downloader for CacheDir().
func New() (*Downloader, error) {
	dir, err := CacheDir()
	if err != nil {
		return nil, err
	}
	return &Downloader{Dir: dir}, nil
}

// NetworkError reports that a download could not reach its server, and says how to proceed by hand.
type NetworkError struct {
	// URL is what to download.
	URL string
	// Path is where to put the downloaded file so that the next Install verifies and unpacks it.
	Path string
	// Spec, when not empty, is the datasets.Load spec to use after unpacking the file anywhere by hand
	// (with <dir> standing for that directory).
	Spec string
	// Err is the underlying error.
	Err error
}

// Error says what failed and what to do.
func (e *NetworkError) Error() string {
	msg := fmt.Sprintf("download: cannot fetch %s: %v\n"+
		"If this machine is offline, download that URL elsewhere and copy the file to\n  %s\n"+
		"and run again: it will be verified and unpacked from there.", e.URL, e.Err, e.Path)
	if e.Spec != "" {
		msg += fmt.Sprintf("\nOr unpack it into a directory of your choice and load it with the spec %q.", e.Spec)
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *NetworkError) Unwrap() error { return e.Err }

// HTTPError reports an HTTP response other than success (e.g. 404 when a file has moved).
type HTTPError struct {
	// URL is the address requested.
	URL string
	// Path is where a copy obtained elsewhere can be put for the next Install to use.
	Path string
	// StatusCode is the response's status code (e.g. 404).
	StatusCode int
	// Status is the response's status line (e.g. "404 Not Found").
	Status string
}

// Error names the URL and the status.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("download: %s: HTTP %s", e.URL, e.Status)
	if e.StatusCode == http.StatusNotFound {
		msg += "\nThe file is not, or no longer, at this address. If you find it elsewhere (the publisher's page\n" +
			"may name a new location), put it at\n  " + e.Path + "\nand run again: it will be verified and unpacked from there."
	}
	return msg
}

// ChecksumError reports a downloaded file whose sum is not the expected one. The file has been deleted.
type ChecksumError struct {
	// URL is where the file came from; Path where it was written (and deleted from).
	URL, Path string
	// Algorithm is "sha256" or "md5".
	Algorithm string
	// Want and Got are the expected and actual hex sums.
	Want, Got string
	// Recorded is true when Want was recorded by an earlier download rather than given by the registry.
	Recorded bool
}

// Error names the file and both sums.
func (e *ChecksumError) Error() string {
	src := "expected"
	if e.Recorded {
		src = "recorded at the first download"
	}
	return fmt.Sprintf("download: %s: %s mismatch: got %s, %s %s; the file was deleted (corrupted transfer, or the upstream changed it)",
		e.URL, e.Algorithm, e.Got, src, e.Want)
}

// downloadPath is where Fetch puts an entry's file.
func (d *Downloader) downloadPath(e Entry) string {
	return filepath.Join(d.Dir, "downloads", e.Name, e.fileName())
}

// installPath is the directory Install unpacks an entry into.
func (d *Downloader) installPath(e Entry) string { return filepath.Join(d.Dir, e.Name) }

// Installed returns the path Install would return for an entry already in the cache, and false
// (nothing downloaded) when it is not there.
func (d *Downloader) Installed(e Entry) (string, bool) {
	if validName(e.Name) != nil {
		return "", false
	}
	if _, err := os.Stat(d.installPath(e)); err != nil {
		return "", false
	}
	return d.dataPath(e), true
}

// dataPath is the path of an installed entry's data: the unpacked directory (its Subdir) for an
// archive, the file itself otherwise.
func (d *Downloader) dataPath(e Entry) string {
	if archiveKind(e.fileName()) == "" {
		return filepath.Join(d.installPath(e), e.fileName())
	}
	return filepath.Join(d.installPath(e), filepath.FromSlash(e.Subdir))
}

// Get is Install of the registry entry called name.
func (d *Downloader) Get(ctx context.Context, name string) (string, error) {
	e, err := Lookup(name)
	if err != nil {
		return "", err
	}
	return d.Install(ctx, e)
}

// Install makes sure an entry is in the cache and returns its path: for an archive, the directory
// holding the unpacked data (<cache>/<name>/<Subdir>), which e.Spec turns into a datasets.Load spec; for
// a single file, the file's path (<cache>/<name>/<file>). An entry already installed is not downloaded
// again. A download interrupted earlier resumes where it stopped.
func (d *Downloader) Install(ctx context.Context, e Entry) (string, error) {
	if err := validName(e.Name); err != nil {
		return "", err
	}
	target := d.installPath(e)
	kind := archiveKind(e.fileName())
	if path, ok := d.Installed(e); ok {
		return path, nil
	}
	file, err := d.Fetch(ctx, e)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(d.Dir, "."+e.Name+".unpack-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if kind == "" {
		if err := os.Rename(file, filepath.Join(tmp, e.fileName())); err != nil {
			return "", err
		}
	} else {
		d.logf("unpacking %s\n", file)
		if err := Extract(file, tmp); err != nil {
			return "", err
		}
		if e.Subdir != "" {
			if fi, err := os.Stat(filepath.Join(tmp, filepath.FromSlash(e.Subdir))); err != nil || !fi.IsDir() {
				return "", fmt.Errorf("download: %s: the archive has no directory %q", file, e.Subdir)
			}
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		return "", err
	}
	if kind != "" && !d.KeepArchives {
		os.Remove(file)
	}
	d.logf("installed %s in %s\n", e.Name, target)
	return d.dataPath(e), nil
}

// Fetch downloads an entry's file into <cache>/downloads/<name>/ unless it is already there, verifies
// it, and returns its path. The data are written to "<file>.part" first; when a ".part" file exists from
// an interrupted download, Fetch asks the server for the rest only (HTTP Range) and starts over when the
// server does not support ranges. A file whose SHA-256 (or MD5) differs from the expected or recorded sum
// is deleted and reported as a *ChecksumError; an entry without a known SHA-256 has the sum of its first
// download recorded. A file placed at the returned path by hand is verified the same way.
func (d *Downloader) Fetch(ctx context.Context, e Entry) (string, error) {
	if err := validName(e.Name); err != nil {
		return "", err
	}
	final := d.downloadPath(e)
	if _, err := os.Stat(final); err == nil {
		if err := d.verify(e, final); err != nil {
			return "", err
		}
		return final, nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", err
	}
	part := final + ".part"
	for attempt := 0; ; attempt++ {
		err := d.download(ctx, e, part)
		var restart errRestart
		if errors.As(err, &restart) && attempt == 0 {
			d.logf("%s; starting over\n", restart.reason)
			os.Remove(part)
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	if err := d.verify(e, part); err != nil {
		return "", err
	}
	if err := os.Rename(part, final); err != nil {
		return "", err
	}
	return final, nil
}

// errRestart asks Fetch to delete the .part file and download again from the start.
type errRestart struct{ reason string }

// Error returns the reason.
func (e errRestart) Error() string { return e.reason }

// download appends the missing bytes of e's file to part.
func (d *Downloader) download(ctx context.Context, e Entry, part string) error {
	var have int64
	if fi, err := os.Stat(part); err == nil {
		have = fi.Size()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL, nil)
	if err != nil {
		return fmt.Errorf("download: %s: %w", e.Name, err)
	}
	// Ask for the bytes as stored: Go's transparent gzip decoding would otherwise undo a .tar.gz served
	// with Content-Encoding: gzip, and break both the checksum and Range offsets.
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", "mimicry-downloader")
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := d.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ne := &NetworkError{URL: e.URL, Path: d.downloadPath(e), Err: err}
		if e.Loader != "" {
			ne.Spec = e.Loader + ":<dir>"
		}
		return ne
	}
	defer resp.Body.Close()
	flags := os.O_WRONLY | os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusOK:
		if have > 0 {
			d.logf("%s: the server ignored the range request; downloading from the start\n", e.URL)
		}
		flags |= os.O_TRUNC
		have = 0
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return errRestart{fmt.Sprintf("%s: the server resumed at %q, not at byte %d", e.URL, resp.Header.Get("Content-Range"), have)}
		}
		flags |= os.O_APPEND
		d.logf("resuming %s at byte %d\n", e.URL, have)
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// "bytes */N": the .part file is complete when it holds N bytes; verification will tell.
		cr := resp.Header.Get("Content-Range")
		if size, err := strconv.ParseInt(strings.TrimPrefix(cr, "bytes */"), 10, 64); err == nil && size == have {
			return nil
		}
		return errRestart{fmt.Sprintf("%s: the server cannot resume at byte %d (Content-Range %q)", e.URL, have, cr)}
	default:
		return &HTTPError{URL: e.URL, Path: d.downloadPath(e), StatusCode: resp.StatusCode, Status: resp.Status}
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	total := int64(-1)
	if resp.ContentLength >= 0 {
		total = have + resp.ContentLength
	}
	d.logf("downloading %s → %s\n", e.URL, part)
	n, err := io.Copy(f, &progressReader{r: resp.Body, d: d, done: have, total: total, name: e.Name})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &NetworkError{URL: e.URL, Path: d.downloadPath(e),
			Err: fmt.Errorf("transfer interrupted after %d bytes (kept in %s; running again resumes): %w", have+n, part, err)}
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return &NetworkError{URL: e.URL, Path: d.downloadPath(e),
			Err: fmt.Errorf("transfer ended after %d of %d bytes (kept in %s; running again resumes)", n, resp.ContentLength, part)}
	}
	return nil
}

// contentRangeStart parses the first byte position of a "bytes a-b/n" header.
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	return v, err == nil
}

// verify checks path against e's sums (the registry's or the recorded one), deleting it on mismatch,
// and records the SHA-256 of a first download.
func (d *Downloader) verify(e Entry, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	sh, mh := sha256.New(), md5.New()
	_, err = io.Copy(io.MultiWriter(sh, mh), f)
	f.Close()
	if err != nil {
		return err
	}
	got := hex.EncodeToString(sh.Sum(nil))
	want, recorded := strings.ToLower(e.SHA256), false
	if want == "" {
		want, err = d.recordedSum(e.URL)
		if err != nil {
			return err
		}
		recorded = want != ""
	}
	if want != "" && got != want {
		os.Remove(path)
		return &ChecksumError{URL: e.URL, Path: path, Algorithm: "sha256", Want: want, Got: got, Recorded: recorded}
	}
	if e.MD5 != "" {
		if gotMD5 := sumHex(mh); gotMD5 != strings.ToLower(e.MD5) {
			os.Remove(path)
			return &ChecksumError{URL: e.URL, Path: path, Algorithm: "md5", Want: strings.ToLower(e.MD5), Got: gotMD5}
		}
	}
	if want == "" {
		d.logf("%s: no known SHA-256; recording %s for later downloads\n", e.Name, got)
		return d.recordSum(e.URL, got)
	}
	return nil
}

func sumHex(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// checksumsPath is the file of recorded sums.
func (d *Downloader) checksumsPath() string { return filepath.Join(d.Dir, "checksums.json") }

func (d *Downloader) readSums() (map[string]string, error) {
	b, err := os.ReadFile(d.checksumsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	sums := map[string]string{}
	if err := json.Unmarshal(b, &sums); err != nil {
		return nil, fmt.Errorf("download: %s: %w (delete it to record sums afresh)", d.checksumsPath(), err)
	}
	return sums, nil
}

// recordedSum returns the SHA-256 recorded for url, or "".
func (d *Downloader) recordedSum(url string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	sums, err := d.readSums()
	if err != nil {
		return "", err
	}
	return sums[url], nil
}

// recordSum records the SHA-256 of url's first download, atomically.
func (d *Downloader) recordSum(url, sum string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	sums, err := d.readSums()
	if err != nil {
		return err
	}
	sums[url] = sum
	b, err := json.MarshalIndent(sums, "", "  ")
	if err != nil {
		return err
	}
	return files.WriteBytes(d.checksumsPath(), append(b, '\n'), 0o644)
}

func (d *Downloader) client() *http.Client {
	if d.Client != nil {
		return d.Client
	}
	return defaultClient
}

var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: 60 * time.Second,
	DisableCompression:    true,
}}

func (d *Downloader) logf(format string, args ...any) {
	if d.Log != nil {
		fmt.Fprintf(d.Log, format, args...)
	}
}

// validName refuses entry names that would escape the cache directory.
func validName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("download: invalid entry name %q", name)
	}
	return nil
}

// progressReader logs progress every 10% (or every 64 MB when the size is unknown).
type progressReader struct {
	r           io.Reader
	d           *Downloader
	done, total int64
	next        int64
	name        string
}

// Read reads from the body and logs progress.
func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.d.Log != nil && p.done >= p.next {
		step := int64(64 << 20)
		if p.total > 0 {
			step = max(p.total/10, 1)
			p.d.logf("%s: %d%% (%d of %d bytes)\n", p.name, p.done*100/p.total, p.done, p.total)
		} else {
			p.d.logf("%s: %d bytes\n", p.name, p.done)
		}
		p.next = p.done + step
	}
	return n, err
}
