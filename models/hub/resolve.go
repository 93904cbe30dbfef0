package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Errors that Resolve and Download wrap, for errors.Is.
var (
	// ErrRepoNotFound: the hub has no such repository (or it is private and no token grants access).
	ErrRepoNotFound = errors.New("model not found on the hub")
	// ErrRevisionNotFound: the repository has no such branch, tag or commit.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrFileNotFound: the repository has no such file at that revision.
	ErrFileNotFound = errors.New("file not found in the repository")
	// ErrNotCached: offline, and the cache does not hold the model.
	ErrNotCached = errors.New("not in the local cache")
)

// Resolve returns the local folder of a model id ("org/name" or "org/name@revision"): the cached
// snapshot of that revision, downloading what it lacks unless offline (see the package
// documentation). The folder holds the files that opts.Files selects.
//
// Offline, or when the hub cannot be reached and the cache already holds the revision, the cached
// snapshot is returned as it is.
func Resolve(ctx context.Context, id string, opts *Options) (string, error) {
	parsed, err := ParseID(id)
	if err != nil {
		return "", err
	}
	o := opts.withDefaults()
	repoDir := filepath.Join(o.CacheDir, folderName(parsed.Repo))
	cached, cachedErr := cachedSnapshot(repoDir, parsed.Revision)
	if o.Offline {
		if cachedErr != nil {
			return "", fmt.Errorf("%s: %w (offline: HF_HUB_OFFLINE is set; looked in %s): %v", id, ErrNotCached, o.CacheDir, cachedErr)
		}
		return cached, nil
	}
	info, err := o.repoInfo(ctx, parsed)
	if err != nil {
		var netErr *networkError
		if errors.As(err, &netErr) && cachedErr == nil {
			o.logf("hub: %v; using the cached copy %s\n", err, cached)
			return cached, nil
		}
		return "", err
	}
	files := info.files(o.Files)
	if !slices.Contains(files, "config.json") && !slices.ContainsFunc(files, func(f string) bool { return path.Base(f) == "config.json" }) {
		return "", fmt.Errorf("%s: the repository has no config.json: not a transformers model", id)
	}
	if info.has("pytorch_model.bin") && !slices.ContainsFunc(files, func(f string) bool { return strings.HasSuffix(f, ".safetensors") }) {
		return "", fmt.Errorf("%s: the repository has only pytorch_model.bin weights (a pickle), which Mimicry does not read: "+
			"convert them to model.safetensors (transformers: model.save_pretrained(dir, safe_serialization=True)) and use that folder", id)
	}
	for _, f := range files {
		if _, err := o.download(ctx, repoDir, parsed.Repo, info.SHA, f); err != nil {
			return "", fmt.Errorf("%s: %w", id, err)
		}
	}
	if parsed.Revision != info.SHA {
		if err := writeRef(repoDir, parsed.Revision, info.SHA); err != nil {
			return "", err
		}
	}
	return filepath.Join(repoDir, "snapshots", info.SHA), nil
}

// Download fetches one file of a model id into the cache (or finds it there) and returns its path
// in the snapshot folder, like huggingface_hub's hf_hub_download.
func Download(ctx context.Context, id, file string, opts *Options) (string, error) {
	parsed, err := ParseID(id)
	if err != nil {
		return "", err
	}
	o := opts.withDefaults()
	repoDir := filepath.Join(o.CacheDir, folderName(parsed.Repo))
	if cached, err := cachedSnapshot(repoDir, parsed.Revision); err == nil {
		p := filepath.Join(cached, filepath.FromSlash(file))
		if _, err := os.Stat(p); err == nil && (o.Offline || IsCommit(parsed.Revision)) {
			return p, nil
		}
	}
	if o.Offline {
		return "", fmt.Errorf("%s: file %s: %w (offline: HF_HUB_OFFLINE is set; looked in %s)", id, file, ErrNotCached, o.CacheDir)
	}
	commit := parsed.Revision
	if !IsCommit(commit) {
		info, err := o.repoInfo(ctx, parsed)
		if err != nil {
			return "", err
		}
		commit = info.SHA
	}
	p, err := o.download(ctx, repoDir, parsed.Repo, commit, file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", id, err)
	}
	if parsed.Revision != commit {
		if err := writeRef(repoDir, parsed.Revision, commit); err != nil {
			return "", err
		}
	}
	return p, nil
}

// cachedSnapshot finds the snapshot folder of a revision in a repository's cache folder.
func cachedSnapshot(repoDir, revision string) (string, error) {
	commit := revision
	if !IsCommit(revision) {
		data, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(revision)))
		if err != nil {
			return "", fmt.Errorf("no ref %q: %w", revision, err)
		}
		commit = strings.TrimSpace(string(data))
		if !IsCommit(commit) {
			return "", fmt.Errorf("%s: %q is not a commit hash", filepath.Join(repoDir, "refs", revision), commit)
		}
	}
	dir := filepath.Join(repoDir, "snapshots", commit)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("no snapshot %s", dir)
	}
	return dir, nil
}

// writeRef records the commit a branch or tag resolved to.
func writeRef(repoDir, revision, commit string) error {
	p := filepath.Join(repoDir, "refs", filepath.FromSlash(revision))
	if data, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(data)) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(commit), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// repoInfo is the part of /api/models/{id}/revision/{rev} that Resolve reads.
type repoInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
	} `json:"siblings"`
}

func (r *repoInfo) has(name string) bool {
	return slices.ContainsFunc(r.Siblings, func(s struct {
		RFilename string `json:"rfilename"`
	}) bool {
		return s.RFilename == name
	})
}

// files lists the repository's files that keep selects, sorted.
func (r *repoInfo) files(keep func(string) bool) []string {
	var out []string
	for _, s := range r.Siblings {
		if keep(s.RFilename) {
			out = append(out, s.RFilename)
		}
	}
	slices.Sort(out)
	return out
}

// networkError marks a failure to reach the hub (as opposed to an answer from it).
type networkError struct{ err error }

func (e *networkError) Error() string { return "cannot reach the hub: " + e.err.Error() }
func (e *networkError) Unwrap() error { return e.err }

// repoInfo asks the hub which commit a revision is and which files it has.
func (o *Options) repoInfo(ctx context.Context, id ID) (*repoInfo, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s", o.Endpoint, id.Repo, url.PathEscape(id.Revision))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	o.authorize(req)
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, &networkError{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp, id, "")
	}
	var info repoInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", id, u, err)
	}
	if !IsCommit(info.SHA) {
		return nil, fmt.Errorf("%s: %s: field \"sha\" is %q, want a commit hash", id, u, info.SHA)
	}
	return &info, nil
}

// statusError turns a hub error answer into an error naming the id (and file), wrapping the
// matching Err* for 401/403/404, as the hub's X-Error-Code header tells.
func statusError(resp *http.Response, id ID, file string) error {
	code := resp.Header.Get("X-Error-Code")
	msg := resp.Header.Get("X-Error-Message")
	if msg == "" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		msg = strings.TrimSpace(string(body))
	}
	what := id.String()
	if file != "" {
		what += ": file " + file
	}
	detail := resp.Status
	if msg != "" {
		detail += ": " + msg
	}
	switch {
	case code == "RepoNotFound" || code == "RepositoryNotFound" ||
		(code == "" && file == "" && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnauthorized)):
		return fmt.Errorf("%s: %w (check the id; a private or gated model needs HF_TOKEN) [%s]", what, ErrRepoNotFound, detail)
	case code == "RevisionNotFound":
		return fmt.Errorf("%s: %w: %q [%s]", what, ErrRevisionNotFound, id.Revision, detail)
	case code == "EntryNotFound" || (file != "" && resp.StatusCode == http.StatusNotFound):
		return fmt.Errorf("%s: %w at revision %s [%s]", what, ErrFileNotFound, id.Revision, detail)
	case code == "GatedRepo" || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s: access denied (a gated model: accept its terms on the hub and set HF_TOKEN) [%s]", what, detail)
	}
	return fmt.Errorf("%s: the hub answered %s", what, detail)
}

// authorize adds the token to requests for the endpoint's own host.
func (o *Options) authorize(req *http.Request) {
	if o.Token == "" {
		return
	}
	if ep, err := url.Parse(o.Endpoint); err == nil && ep.Host == req.URL.Host {
		req.Header.Set("Authorization", "Bearer "+o.Token)
	}
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format, args...)
	}
}
