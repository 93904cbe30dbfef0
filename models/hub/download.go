package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// fileMeta is what the hub's HEAD answer says about a file.
type fileMeta struct {
	id       ID
	file     string
	etag     string // the blob's name: sha256 of LFS files, git's blob hash of others
	commit   string // X-Repo-Commit
	size     int64  // -1 when not given
	location string // where to GET it (a CDN address for LFS files)
}

var etagPattern = regexp.MustCompile(`^[A-Za-z0-9_\-.]+$`)

// download fetches one file of a commit into the cache (unless its snapshot entry exists) and
// returns the snapshot entry's path.
func (o *Options) download(ctx context.Context, repoDir, repo, commit, file string) (string, error) {
	pointer := filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(file))
	if _, err := os.Stat(pointer); err == nil {
		return pointer, nil
	}
	meta, err := o.fileMetadata(ctx, ID{Repo: repo, Revision: commit}, file)
	if err != nil {
		return "", err
	}
	blob := filepath.Join(repoDir, "blobs", meta.etag)
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return "", err
	}
	if _, err := os.Stat(blob); err != nil {
		lockPath := filepath.Join(filepath.Dir(repoDir), ".locks", filepath.Base(repoDir), meta.etag+".lock")
		unlock, err := lockFile(lockPath)
		if err != nil {
			return "", fmt.Errorf("locking %s: %w", lockPath, err)
		}
		defer unlock()
		if _, err := os.Stat(blob); err != nil { // another process may have finished it meanwhile
			if err := o.fetchBlob(ctx, meta, blob); err != nil {
				return "", err
			}
		}
	}
	if err := linkPointer(pointer, blob); err != nil {
		return "", err
	}
	return pointer, nil
}

// fileMetadata sends huggingface_hub's HEAD request for /{repo}/resolve/{commit}/{file}: redirects
// within the same host or to the hub's own hosts (a renamed repository) are followed, one to
// another host (the CDN of LFS files) gives the download address and its answer the metadata, as
// huggingface_hub does; the headers give the blob's name, size and commit.
func (o *Options) fileMetadata(ctx context.Context, id ID, file string) (*fileMeta, error) {
	u := fmt.Sprintf("%s/%s/resolve/%s/%s", o.Endpoint, id.Repo, url.PathEscape(id.Revision), escapePath(file))
	noFollow := *o.Client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for range 10 {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept-Encoding", "identity")
		o.authorize(req)
		resp, err := noFollow.Do(req)
		if err != nil {
			return nil, &networkError{err}
		}
		resp.Body.Close()
		location := u
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc, err := resp.Location()
			if err != nil {
				return nil, fmt.Errorf("file %s: redirect without a Location: %w", file, err)
			}
			if sameOrHubHost(req.URL, loc) {
				u = loc.String() // the repository moved (or the hub points to itself): ask again there
				continue
			}
			location = loc.String() // a CDN: this answer carries the metadata
		} else if resp.StatusCode != http.StatusOK {
			return nil, statusError(resp, id, file)
		}
		meta := &fileMeta{id: id, file: file, commit: resp.Header.Get("X-Repo-Commit"), location: location, size: -1}
		meta.etag = normaliseETag(cmpOr(resp.Header.Get("X-Linked-Etag"), resp.Header.Get("ETag")))
		if meta.etag == "" || !etagPattern.MatchString(meta.etag) {
			return nil, fmt.Errorf("file %s: the hub gave no usable ETag (%q): cannot name the cached blob", file, meta.etag)
		}
		if s := cmpOr(resp.Header.Get("X-Linked-Size"), resp.Header.Get("Content-Length")); s != "" {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
				meta.size = n
			}
		}
		return meta, nil
	}
	return nil, fmt.Errorf("file %s: more than 10 redirects", file)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func normaliseETag(e string) string {
	e = strings.TrimPrefix(strings.TrimSpace(e), "W/")
	return strings.Trim(e, `"`)
}

// escapePath escapes each segment of a repository path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// transferError is a failure while receiving a file's bytes: the download can resume.
type transferError struct{ err error }

func (e *transferError) Error() string { return e.err.Error() }
func (e *transferError) Unwrap() error { return e.err }

// fetchBlob downloads a file into blob via blob.incomplete, resuming an earlier partial download
// and retrying interrupted transfers, then checks its size (and sha256, for LFS files, whose ETag
// is their sha256) and renames it into place.
func (o *Options) fetchBlob(ctx context.Context, meta *fileMeta, blob string) error {
	incomplete := blob + ".incomplete"
	size := "unknown size"
	if meta.size >= 0 {
		size = fmt.Sprintf("%d bytes", meta.size)
	}
	o.logf("hub: downloading %s (%s)\n", meta.file, size)
	for attempt := 0; ; attempt++ {
		err := o.fetchOnce(ctx, meta, incomplete)
		if err == nil {
			break
		}
		var te *transferError
		if ctx.Err() != nil || !errors.As(err, &te) || attempt >= max(o.Retries, 0) {
			return fmt.Errorf("file %s: %w (the partial download %s is resumed next time)", meta.file, err, incomplete)
		}
		o.logf("hub: %s: %v; resuming\n", meta.file, err)
	}
	st, err := os.Stat(incomplete)
	if err != nil {
		return err
	}
	if meta.size >= 0 && st.Size() != meta.size {
		os.Remove(incomplete)
		return fmt.Errorf("file %s: received %d bytes, the hub announced %d", meta.file, st.Size(), meta.size)
	}
	if len(meta.etag) == 64 {
		if _, err := hex.DecodeString(meta.etag); err == nil {
			sum, err := fileSHA256(incomplete)
			if err != nil {
				return err
			}
			if sum != meta.etag {
				os.Remove(incomplete)
				return fmt.Errorf("file %s: sha256 %s does not match the hub's %s: the download is corrupt (removed)", meta.file, sum, meta.etag)
			}
		}
	}
	return os.Rename(incomplete, blob)
}

// fetchOnce makes one GET, from where the partial file ends.
func (o *Options) fetchOnce(ctx context.Context, meta *fileMeta, incomplete string) error {
	f, err := os.OpenFile(incomplete, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	offset, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if meta.size >= 0 && offset == meta.size {
		return nil
	}
	if meta.size >= 0 && offset > meta.size {
		if err := restart(f); err != nil {
			return err
		}
		offset = 0
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, meta.location, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "identity")
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	o.authorize(req)
	resp, err := o.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &transferError{err}
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		var start int64 = -1
		fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-", &start)
		if start != offset {
			if err := restart(f); err != nil {
				return err
			}
			return &transferError{fmt.Errorf("asked for bytes from %d, got Content-Range %q", offset, resp.Header.Get("Content-Range"))}
		}
	case http.StatusOK:
		if offset > 0 { // the server ignored the Range: start over
			if err := restart(f); err != nil {
				return err
			}
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if err := restart(f); err != nil {
			return err
		}
		return &transferError{fmt.Errorf("range from byte %d not satisfiable", offset)}
	default:
		return statusError(resp, meta.id, meta.file)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &transferError{err}
	}
	return f.Close()
}

// restart empties a partial file.
func restart(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// linkPointer makes the snapshot entry a relative symlink to the blob, as huggingface_hub does
// (a copy where symlinks cannot be made).
func linkPointer(pointer, blob string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err != nil {
		return err
	}
	os.Remove(pointer) // a dangling link left by an earlier run
	if err := os.Symlink(rel, pointer); err == nil {
		return nil
	}
	data, err := os.ReadFile(blob)
	if err != nil {
		return err
	}
	tmp := pointer + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, pointer)
}

// hubHosts are the hub's own host names (huggingface_hub's HF_URL_HOSTS).
var hubHosts = []string{"huggingface.co", "hf.co"}

// sameOrHubHost reports whether a redirect from u to target stays on the hub: the same host name,
// or one of the hub's.
func sameOrHubHost(u, target *url.URL) bool {
	h := strings.ToLower(target.Hostname())
	return h == strings.ToLower(u.Hostname()) || slices.Contains(hubHosts, h)
}
