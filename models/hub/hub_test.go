package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeHub serves the hub's URL layout on 127.0.0.1 for a few repositories:
//
//	GET  /api/models/{org}/{name}/revision/{rev}   → {"sha": commit, "siblings": [...]}
//	HEAD|GET /{org}/{name}/resolve/{rev}/{file}   → small files directly (ETag: git blob hash);
//	                                                 LFS files (.safetensors, .bin) by a 302 to /cdn/{sha256}
//	GET  /cdn/{sha256}                             → the bytes, honouring Range
//
// with the hub's error headers (X-Error-Code) for unknown repositories, revisions and files, and a
// relative 307 from a repository's old name.
type fakeHub struct {
	srv   *httptest.Server
	repos map[string]*fakeRepo
	moved map[string]string // old repo name → new

	mu        sync.Mutex
	cut       map[string]int // sha256 → how many more CDN responses to cut short
	cutAt     int            // bytes sent before cutting
	corrupt   bool           // serve flipped bytes from the CDN
	ranges    []string       // Range headers the CDN saw ("" for none)
	cdnGets   int
	apiCalls  int
	fileHeads int
}

type fakeRepo struct {
	commit string
	refs   map[string]string // branch → commit
	files  map[string][]byte
}

func isLFS(name string) bool {
	return strings.HasSuffix(name, ".safetensors") || strings.HasSuffix(name, ".bin")
}

func gitBlobHash(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	h := &fakeHub{repos: map[string]*fakeRepo{}, moved: map[string]string{}, cut: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) add(repo, commit string, files map[string][]byte) {
	h.repos[repo] = &fakeRepo{commit: commit, refs: map[string]string{"main": commit}, files: files}
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/models/"):
		h.mu.Lock()
		h.apiCalls++
		h.mu.Unlock()
		repo, rev, ok := strings.Cut(strings.TrimPrefix(p, "/api/models/"), "/revision/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		rp := h.repos[repo]
		if rp == nil {
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, `{"error":"Repository Not Found"}`, http.StatusUnauthorized)
			return
		}
		commit := rp.refs[rev]
		if commit == "" && rev == rp.commit {
			commit = rev
		}
		if commit == "" {
			w.Header().Set("X-Error-Code", "RevisionNotFound")
			http.Error(w, `{"error":"Invalid rev id"}`, http.StatusNotFound)
			return
		}
		type sib struct {
			R string `json:"rfilename"`
		}
		info := struct {
			ID       string `json:"id"`
			SHA      string `json:"sha"`
			Siblings []sib  `json:"siblings"`
		}{ID: repo, SHA: commit}
		for name := range rp.files {
			info.Siblings = append(info.Siblings, sib{name})
		}
		json.NewEncoder(w).Encode(info)
	case strings.HasPrefix(p, "/cdn/"):
		h.serveCDN(w, r, strings.TrimPrefix(p, "/cdn/"))
	default:
		parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5) // org, name, "resolve", rev, file
		if len(parts) != 5 || parts[2] != "resolve" {
			http.NotFound(w, r)
			return
		}
		repo, rev, file := parts[0]+"/"+parts[1], parts[3], parts[4]
		if to, ok := h.moved[repo]; ok {
			w.Header().Set("Location", "/"+to+"/resolve/"+rev+"/"+file)
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		h.mu.Lock()
		h.fileHeads++
		h.mu.Unlock()
		rp := h.repos[repo]
		if rp == nil {
			w.Header().Set("X-Error-Code", "RepoNotFound")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		commit := rp.refs[rev]
		if rev == rp.commit {
			commit = rev
		}
		data, ok := rp.files[file]
		if commit == "" || !ok {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("X-Repo-Commit", commit)
		if isLFS(file) {
			sum := sha256Hex(data)
			w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
			w.Header().Set("X-Linked-Size", fmt.Sprint(len(data)))
			w.Header().Set("ETag", `"cdn-etag-differs"`)
			// The CDN is another host name (same server): clients stop at this redirect and read its headers.
			w.Header().Set("Location", strings.Replace(h.srv.URL, "127.0.0.1", "localhost", 1)+"/cdn/"+sum)
			w.WriteHeader(http.StatusFound)
			return
		}
		w.Header().Set("ETag", `"`+gitBlobHash(data)+`"`)
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		if r.Method == http.MethodGet {
			w.Write(data)
		}
	}
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request, sum string) {
	var data []byte
	for _, rp := range h.repos {
		for name, d := range rp.files {
			if isLFS(name) && sha256Hex(d) == sum {
				data = d
			}
		}
	}
	if data == nil {
		http.NotFound(w, r)
		return
	}
	h.mu.Lock()
	h.cdnGets++
	h.ranges = append(h.ranges, r.Header.Get("Range"))
	cut := h.cut[sum] > 0
	if cut {
		h.cut[sum]--
	}
	corrupt, cutAt := h.corrupt, h.cutAt
	h.mu.Unlock()
	if corrupt {
		data = append([]byte(nil), data...)
		data[0] ^= 0xff
	}
	start := 0
	if rg := r.Header.Get("Range"); rg != "" {
		fmt.Sscanf(rg, "bytes=%d-", &start)
		if start >= len(data) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
		w.Header().Set("Content-Length", fmt.Sprint(len(data)-start))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
	}
	body := data[start:]
	if cut {
		w.Write(body[:min(cutAt, len(body))])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	w.Write(body)
}

const (
	commitA = "0123456789abcdef0123456789abcdef01234567"
	commitB = "89abcdef0123456789abcdef0123456789abcdef"
)

// tinyRepo is a model repository: config, tokenizer files, weights (LFS), and files Resolve skips.
func tinyRepo() map[string][]byte {
	weights := make([]byte, 100_000)
	for i := range weights {
		weights[i] = byte(i * 7)
	}
	return map[string][]byte{
		"config.json":               []byte(`{"model_type":"bert"}`),
		"vocab.txt":                 []byte("[PAD]\n[UNK]\n"),
		"model.safetensors":         weights,
		"1_Pooling/config.json":     []byte(`{"pooling_mode_mean_tokens":true}`),
		"pytorch_model.bin":         []byte("pickle"),
		"onnx/model.onnx":           []byte("onnx"),
		"onnx/config.json":          []byte("{}"),
		"README.md":                 []byte("# tiny"),
		"sentence_bert_config.json": []byte(`{"max_seq_length":128}`),
	}
}

func opts(h *fakeHub, cache string) *Options {
	return &Options{Endpoint: h.srv.URL, CacheDir: cache}
}

func TestResolveDownloadsIntoHFCacheLayout(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "")
	h := newFakeHub(t)
	files := tinyRepo()
	h.add("org/tiny", commitA, files)
	cache := t.TempDir()
	dir, err := Resolve(context.Background(), "org/tiny", opts(h, cache))
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(cache, "models--org--tiny")
	if want := filepath.Join(repoDir, "snapshots", commitA); dir != want {
		t.Fatalf("dir = %s, want %s", dir, want)
	}
	ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main"))
	if err != nil || string(ref) != commitA {
		t.Fatalf("refs/main = %q, %v; want %s", ref, err, commitA)
	}
	for _, name := range []string{"config.json", "vocab.txt", "model.safetensors", "1_Pooling/config.json", "sentence_bert_config.json"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		got, err := os.ReadFile(p)
		if err != nil || string(got) != string(files[name]) {
			t.Fatalf("%s: %d bytes, %v; want the repository's %d bytes", name, len(got), err, len(files[name]))
		}
		target, err := os.Readlink(p)
		if err != nil || filepath.IsAbs(target) {
			t.Fatalf("%s: want a relative symlink into blobs/, got %q, %v", name, target, err)
		}
		etag := gitBlobHash(files[name])
		if isLFS(name) {
			etag = sha256Hex(files[name])
		}
		if filepath.Base(target) != etag || filepath.Base(filepath.Dir(target)) != "blobs" {
			t.Errorf("%s links to %s, want ../blobs/%s", name, target, etag)
		}
	}
	for _, skipped := range []string{"pytorch_model.bin", "onnx/model.onnx", "onnx/config.json", "README.md"} {
		if _, err := os.Lstat(filepath.Join(dir, skipped)); err == nil {
			t.Errorf("%s was downloaded; Resolve fetches only what Mimicry reads", skipped)
		}
	}
	if h.ranges[0] != "" {
		t.Errorf("first download sent Range %q", h.ranges[0])
	}

	// The same id again: one API call for the commit, no file requests.
	heads := h.fileHeads
	if again, err := Resolve(context.Background(), "org/tiny", opts(h, cache)); err != nil || again != dir {
		t.Fatalf("second Resolve: %s, %v", again, err)
	}
	if h.fileHeads != heads {
		t.Errorf("second Resolve made %d file requests, want 0", h.fileHeads-heads)
	}
	// Offline: from the cache alone, no request at all.
	calls := h.apiCalls
	t.Setenv("HF_HUB_OFFLINE", "1")
	if off, err := Resolve(context.Background(), "org/tiny", opts(h, cache)); err != nil || off != dir {
		t.Fatalf("offline Resolve: %s, %v", off, err)
	}
	if h.apiCalls != calls {
		t.Errorf("offline Resolve called the API")
	}
	if off, err := Resolve(context.Background(), "org/tiny@"+commitA, opts(h, cache)); err != nil || off != dir {
		t.Fatalf("offline Resolve by commit: %s, %v", off, err)
	}
}

func TestResolveRevisionAndRef(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/tiny", commitA, tinyRepo())
	h.repos["org/tiny"].refs["v2"] = commitA
	cache := t.TempDir()
	dir, err := Resolve(context.Background(), "org/tiny@v2", opts(h, cache))
	if err != nil {
		t.Fatal(err)
	}
	if ref, _ := os.ReadFile(filepath.Join(cache, "models--org--tiny", "refs", "v2")); string(ref) != commitA {
		t.Errorf("refs/v2 = %q", ref)
	}
	if _, err := os.Stat(filepath.Join(cache, "models--org--tiny", "refs", "main")); err == nil {
		t.Errorf("refs/main written for a v2 request")
	}
	if filepath.Base(dir) != commitA {
		t.Errorf("dir %s", dir)
	}
	_, err = Resolve(context.Background(), "org/tiny@nope", opts(h, cache))
	if !errors.Is(err, ErrRevisionNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown revision: %v", err)
	}
}

func TestResolveResumesInterruptedTransfer(t *testing.T) {
	h := newFakeHub(t)
	files := tinyRepo()
	h.add("org/tiny", commitA, files)
	sum := sha256Hex(files["model.safetensors"])
	h.cut[sum], h.cutAt = 1, 30_000
	cache := t.TempDir()

	// No retries: the call fails and keeps the partial blob, as huggingface_hub's .incomplete.
	o := opts(h, cache)
	o.Retries = -1
	_, err := Resolve(context.Background(), "org/tiny", o)
	if err == nil || !strings.Contains(err.Error(), "model.safetensors") {
		t.Fatalf("interrupted download: want an error naming the file, got %v", err)
	}
	partial := filepath.Join(cache, "models--org--tiny", "blobs", sum+".incomplete")
	st, err := os.Stat(partial)
	if err != nil || st.Size() != 30_000 {
		t.Fatalf("partial blob: %v, %v; want 30000 bytes", st, err)
	}
	if _, err := os.Lstat(filepath.Join(cache, "models--org--tiny", "snapshots", commitA, "model.safetensors")); err == nil {
		t.Fatal("snapshot entry made for an incomplete file")
	}

	// The next call resumes from byte 30000.
	dir, err := Resolve(context.Background(), "org/tiny", opts(h, cache))
	if err != nil {
		t.Fatal(err)
	}
	if last := h.ranges[len(h.ranges)-1]; last != "bytes=30000-" {
		t.Errorf("resumed with Range %q, want bytes=30000-", last)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if sha256Hex(got) != sum {
		t.Error("resumed file differs from the repository's")
	}
	if _, err := os.Stat(partial); err == nil {
		t.Error(".incomplete left behind")
	}

	// Within one call: two cuts, resumed twice.
	h2 := newFakeHub(t)
	h2.add("org/tiny", commitA, files)
	h2.cut[sum], h2.cutAt = 2, 25_000
	dir2, err := Resolve(context.Background(), "org/tiny", opts(h2, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"", "bytes=25000-", "bytes=50000-"}; fmt.Sprint(h2.ranges) != fmt.Sprint(want) {
		t.Errorf("ranges %q, want %q", h2.ranges, want)
	}
	got, _ = os.ReadFile(filepath.Join(dir2, "model.safetensors"))
	if sha256Hex(got) != sum {
		t.Error("file resumed within the call differs from the repository's")
	}
}

func TestResolveErrors(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/tiny", commitA, tinyRepo())
	cache := t.TempDir()
	ctx := context.Background()

	_, err := Resolve(ctx, "org/missing", opts(h, cache))
	if !errors.Is(err, ErrRepoNotFound) || !strings.Contains(err.Error(), "org/missing") {
		t.Errorf("unknown repository: %v", err)
	}
	_, err = Download(ctx, "org/tiny", "nothing.json", opts(h, cache))
	if !errors.Is(err, ErrFileNotFound) || !strings.Contains(err.Error(), "nothing.json") {
		t.Errorf("unknown file: %v", err)
	}
	_, err = Resolve(ctx, "org/bad name", opts(h, cache))
	if err == nil || !strings.Contains(err.Error(), "org/bad name") {
		t.Errorf("invalid id: %v", err)
	}

	// Only pickled weights: a clear error, nothing fetched.
	h.add("org/pickled", commitB, map[string][]byte{"config.json": []byte("{}"), "pytorch_model.bin": []byte("x")})
	_, err = Resolve(ctx, "org/pickled", opts(h, cache))
	if err == nil || !strings.Contains(err.Error(), "pytorch_model.bin") || !strings.Contains(err.Error(), "safetensors") {
		t.Errorf("pickle-only repository: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cache, "models--org--pickled", "snapshots")); err == nil {
		t.Error("pickle-only repository: files were written")
	}

	// A corrupt transfer (sha256 differs from the LFS ETag) leaves no blob.
	h.corrupt = true
	_, err = Resolve(ctx, "org/tiny", opts(h, cache))
	if err == nil || !strings.Contains(err.Error(), "sha256") || !strings.Contains(err.Error(), "model.safetensors") {
		t.Errorf("corrupt download: %v", err)
	}
	blobs, _ := filepath.Glob(filepath.Join(cache, "models--org--tiny", "blobs", sha256Hex(tinyRepo()["model.safetensors"])+"*"))
	if len(blobs) != 0 {
		t.Errorf("corrupt download left %v", blobs)
	}

	// Offline and not cached.
	o := opts(h, t.TempDir())
	o.Offline = true
	_, err = Resolve(ctx, "org/tiny", o)
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Errorf("offline, not cached: %v", err)
	}
}

func TestResolveFollowsRelativeRedirect(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/tiny", commitA, tinyRepo())
	h.moved["old/tiny"] = "org/tiny"
	p, err := Download(context.Background(), "old/tiny@"+commitA, "config.json", opts(h, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != `{"model_type":"bert"}` {
		t.Errorf("config.json through the redirect: %q", got)
	}
}

func TestResolveUsesCacheWhenHubUnreachable(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/tiny", commitA, tinyRepo())
	cache := t.TempDir()
	dir, err := Resolve(context.Background(), "org/tiny", opts(h, cache))
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Close()
	again, err := Resolve(context.Background(), "org/tiny", opts(h, cache))
	if err != nil || again != dir {
		t.Fatalf("unreachable hub with a cached copy: %s, %v", again, err)
	}
	if _, err := Resolve(context.Background(), "org/other", opts(h, cache)); err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("unreachable hub, nothing cached: %v", err)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HUGGINGFACE_HUB_CACHE", "")
	t.Setenv("HF_HOME", "/x/hf")
	if got := DefaultCacheDir(); got != "/x/hf/hub" {
		t.Errorf("HF_HOME: cache %s", got)
	}
	t.Setenv("HF_HUB_CACHE", "/y/cache")
	if got := DefaultCacheDir(); got != "/y/cache" {
		t.Errorf("HF_HUB_CACHE: cache %s", got)
	}
	t.Setenv("HF_HOME", "")
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/z")
	if got := DefaultCacheDir(); got != "/z/huggingface/hub" {
		t.Errorf("XDG_CACHE_HOME: cache %s", got)
	}
	t.Setenv("HF_ENDPOINT", "http://mirror.example/")
	t.Setenv("HF_HUB_OFFLINE", "yes")
	o := (*Options)(nil).withDefaults()
	if o.Endpoint != "http://mirror.example" || !o.Offline {
		t.Errorf("HF_ENDPOINT/HF_HUB_OFFLINE: %+v", o)
	}
}

func TestParseID(t *testing.T) {
	for in, want := range map[string]ID{
		"sentence-transformers/all-MiniLM-L6-v2":        {"sentence-transformers/all-MiniLM-L6-v2", "main"},
		"org/name@v1.0":                                 {"org/name", "v1.0"},
		"org/name@" + commitA:                           {"org/name", commitA},
		"bert-base-uncased":                             {"bert-base-uncased", "main"},
		"cross-encoder/ms-marco-MiniLM-L6-v2@refs/pr/1": {"cross-encoder/ms-marco-MiniLM-L6-v2", "refs/pr/1"},
	} {
		got, err := ParseID(in)
		if err != nil || got != want {
			t.Errorf("ParseID(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "org/", "/name", "a/b/c", "org/na me", "org--x/name", "org/name@", "org/-name", "org/name.git", "../etc"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q): want an error", bad)
		}
	}
	if LooksLikeID("bert-base-uncased") || !LooksLikeID("org/name") || LooksLikeID("./org/name") || LooksLikeID("/abs/path") {
		t.Error("LooksLikeID")
	}
}
