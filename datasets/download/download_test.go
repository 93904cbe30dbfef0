package download

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
)

// tarGz builds a .tar.gz holding files (name → content), in the given order.
func tarGz(t *testing.T, names []string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		c := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipOf builds a zip holding files (name → content), in the given order.
func zipOf(t *testing.T, names []string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// cranArchive is a tiny Cranfield look-alike, padded so that a resume test has bytes to resume.
func cranArchive(t *testing.T) []byte {
	files := map[string]string{
		"cran.all.1400": ".I 1\r\n.T\r\nwing .\r\n.W\r\nwing .\r\n" + strings.Repeat("slipstream lift increase .\r\n", 2000) +
			".I 2\r\n.T\r\nheat .\r\n.W\r\nheat conduction .\r\n",
		"cran.qry": ".I 001\r\n.W\r\nwing lift .\r\n.I 004\r\n.W\r\nheat ?\r\n",
		"cranqrel": "1 1 1\r\n2 2 3\r\n",
	}
	return tarGz(t, []string{"cran.all.1400", "cran.qry", "cranqrel"}, files)
}

// server serves files by path with Range support (http.ServeContent), records the Range headers it
// sees, and can cut a transfer short after cutAfter bytes.
type server struct {
	mu       sync.Mutex
	files    map[string][]byte
	ranges   []string
	cutAfter int  // > 0: send only this many bytes of the next full response, then drop the connection
	noRange  bool // ignore Range headers
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, ok := s.files[r.URL.Path]
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	cut := s.cutAfter
	s.cutAfter = 0
	noRange := s.noRange
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if cut > 0 {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:cut])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if noRange {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", time.Unix(0, 0), bytes.NewReader(body))
}

func newServer(t *testing.T, files map[string][]byte) (*server, *httptest.Server) {
	s := &server{files: files}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func TestInstallFullDownloadAndLoad(t *testing.T) {
	arch := cranArchive(t)
	_, ts := newServer(t, map[string][]byte{"/cran/cran.tar.gz": arch})
	d := &Downloader{Dir: t.TempDir()}
	e := Entry{Name: "cranfield", URL: ts.URL + "/cran/cran.tar.gz", SHA256: sha(arch), Loader: "smart"}
	dir, err := d.Install(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(d.Dir, "cranfield") {
		t.Fatalf("installed at %s", dir)
	}
	c, err := datasets.Load(e.Spec(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Docs) != 2 || c.Queries[1].ID != "2" || c.Qrels["2"]["2"] != 2 {
		t.Fatalf("loaded %+v", c.Queries)
	}
	// The archive is gone once unpacked, and a second Install downloads nothing.
	if _, err := os.Stat(d.downloadPath(e)); !os.IsNotExist(err) {
		t.Fatalf("archive kept: %v", err)
	}
	ts.Close()
	if again, err := d.Install(context.Background(), e); err != nil || again != dir {
		t.Fatalf("second Install: %s, %v", again, err)
	}
}

func TestInstallZipWithSubdirAndTOFU(t *testing.T) {
	files := map[string]string{
		"scifact/corpus.jsonl":   `{"_id":"d1","title":"t","text":"x"}` + "\n",
		"scifact/queries.jsonl":  `{"_id":"q1","text":"y"}` + "\n",
		"scifact/qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\n",
	}
	z := zipOf(t, []string{"scifact/corpus.jsonl", "scifact/queries.jsonl", "scifact/qrels/test.tsv"}, files)
	srv, ts := newServer(t, map[string][]byte{"/scifact.zip": z})
	var log bytes.Buffer
	d := &Downloader{Dir: t.TempDir(), Log: &log, KeepArchives: true}
	e := Entry{Name: "scifact", URL: ts.URL + "/scifact.zip", Subdir: "scifact", Loader: "beir"}
	if p, ok := d.Installed(e); ok {
		t.Fatalf("Installed before Install: %s", p)
	}
	dir, err := d.Install(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := d.Installed(e); !ok || p != dir {
		t.Fatalf("Installed after Install: %q %v, want %q", p, ok, dir)
	}
	if c, err := datasets.Load(e.Spec(dir)); err != nil || len(c.Queries) != 1 {
		t.Fatalf("Load(%s): %v", e.Spec(dir), err)
	}
	// No sum was known: the first download's sum is recorded...
	if got, _ := d.recordedSum(e.URL); got != sha(z) || !strings.Contains(log.String(), "recording") {
		t.Fatalf("recorded %q; log %s", got, log.String())
	}
	// ...and a later, different file at the same URL is refused.
	os.RemoveAll(filepath.Join(d.Dir, "scifact"))
	os.RemoveAll(filepath.Join(d.Dir, "downloads"))
	srv.mu.Lock()
	srv.files["/scifact.zip"] = append([]byte(nil), z[:len(z)-1]...)
	srv.mu.Unlock()
	_, err = d.Install(context.Background(), e)
	var ce *ChecksumError
	if !errors.As(err, &ce) || !ce.Recorded {
		t.Fatalf("changed upstream file: %v", err)
	}
	assertNothingCached(t, d, e)
}

func assertNothingCached(t *testing.T, d *Downloader, e Entry) {
	t.Helper()
	for _, p := range []string{d.downloadPath(e), d.downloadPath(e) + ".part", d.installPath(e)} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s exists after a failed download (%v)", p, err)
		}
	}
}

func TestResumeFromPartialFile(t *testing.T) {
	arch := cranArchive(t)
	srv, ts := newServer(t, map[string][]byte{"/c.tar.gz": arch})
	d := &Downloader{Dir: t.TempDir()}
	e := Entry{Name: "cranfield", URL: ts.URL + "/c.tar.gz", SHA256: sha(arch), Loader: "smart"}
	part := d.downloadPath(e) + ".part"
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		t.Fatal(err)
	}
	half := len(arch) / 2
	if err := os.WriteFile(part, arch[:half], 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := d.Fetch(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, arch) {
		t.Fatal("resumed file differs")
	}
	if want := "bytes=" + strconv.Itoa(half) + "-"; len(srv.ranges) != 1 || srv.ranges[0] != want {
		t.Fatalf("requests %q, want one with Range %q", srv.ranges, want)
	}
}

func TestResumeAfterInterruptedTransfer(t *testing.T) {
	arch := cranArchive(t)
	srv, ts := newServer(t, map[string][]byte{"/c.tar.gz": arch})
	srv.cutAfter = len(arch) / 3
	d := &Downloader{Dir: t.TempDir()}
	e := Entry{Name: "cranfield", URL: ts.URL + "/c.tar.gz", SHA256: sha(arch)}
	_, err := d.Fetch(context.Background(), e)
	var ne *NetworkError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "running again resumes") {
		t.Fatalf("interrupted transfer: %v", err)
	}
	fi, err := os.Stat(d.downloadPath(e) + ".part")
	if err != nil || fi.Size() != int64(len(arch)/3) {
		t.Fatalf("partial file: %v %v", fi, err)
	}
	p, err := d.Fetch(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, arch) {
		t.Fatal("resumed file differs")
	}
	if last := srv.ranges[len(srv.ranges)-1]; last != "bytes="+strconv.Itoa(len(arch)/3)+"-" {
		t.Fatalf("second request's Range %q", last)
	}
}

func TestServerWithoutRangeSupport(t *testing.T) {
	arch := cranArchive(t)
	srv, ts := newServer(t, map[string][]byte{"/c.tar.gz": arch})
	srv.noRange = true
	d := &Downloader{Dir: t.TempDir()}
	e := Entry{Name: "c", URL: ts.URL + "/c.tar.gz", SHA256: sha(arch)}
	part := d.downloadPath(e) + ".part"
	os.MkdirAll(filepath.Dir(part), 0o755)
	os.WriteFile(part, []byte("garbage that must not stay in front"), 0o644)
	p, err := d.Fetch(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, arch) {
		t.Fatal("file differs after a 200 response to a range request")
	}
}

func TestChecksumMismatch(t *testing.T) {
	arch := cranArchive(t)
	_, ts := newServer(t, map[string][]byte{"/c.tar.gz": arch})
	d := &Downloader{Dir: t.TempDir()}
	e := Entry{Name: "cranfield", URL: ts.URL + "/c.tar.gz", SHA256: strings.Repeat("0", 64), Loader: "smart"}
	_, err := d.Install(context.Background(), e)
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Got != sha(arch) || ce.Recorded || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("got %v", err)
	}
	assertNothingCached(t, d, e)
	// A wrong MD5 is refused too.
	e = Entry{Name: "cranfield", URL: ts.URL + "/c.tar.gz", SHA256: sha(arch), MD5: strings.Repeat("f", 32)}
	if _, err := d.Install(context.Background(), e); !errors.As(err, &ce) || ce.Algorithm != "md5" {
		t.Fatalf("md5: %v", err)
	}
	assertNothingCached(t, d, e)
	// A file put in the cache by hand is verified as well.
	os.MkdirAll(filepath.Dir(d.downloadPath(e)), 0o755)
	os.WriteFile(d.downloadPath(e), []byte("not it"), 0o644)
	e.MD5 = ""
	if _, err := d.Fetch(context.Background(), e); !errors.As(err, &ce) {
		t.Fatalf("hand-placed file: %v", err)
	}
	assertNothingCached(t, d, e)
}

func TestNotFound(t *testing.T) {
	_, ts := newServer(t, map[string][]byte{})
	d := &Downloader{Dir: t.TempDir()}
	e := Entry{Name: "gone", URL: ts.URL + "/gone.tar.gz"}
	_, err := d.Install(context.Background(), e)
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 404 || !strings.Contains(err.Error(), ts.URL+"/gone.tar.gz") ||
		!strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), d.downloadPath(e)) {
		t.Fatalf("got %v", err)
	}
	assertNothingCached(t, d, e)
}

func TestOfflineSaysWhatToDo(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/cran/cran.tar.gz"
	l.Close() // nothing listens there any more: connection refused
	d := &Downloader{Dir: t.TempDir()}
	e := Entry{Name: "cranfield", URL: url, Loader: "smart"}
	_, err = d.Install(context.Background(), e)
	var ne *NetworkError
	if !errors.As(err, &ne) {
		t.Fatalf("got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{url, d.downloadPath(e), `"smart:<dir>"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("offline message lacks %q:\n%s", want, msg)
		}
	}
	// Following the advice works: the file put there by hand is verified and unpacked.
	arch := cranArchive(t)
	os.MkdirAll(filepath.Dir(ne.Path), 0o755)
	if err := os.WriteFile(ne.Path, arch, 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := d.Install(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cranqrel")); err != nil {
		t.Fatal(err)
	}
}

func TestExtractRefusesEscapes(t *testing.T) {
	dir := t.TempDir()
	for name, archive := range map[string][]byte{
		"dotdot.tar.gz": tarGz(t, []string{"ok.txt", "../evil.txt"}, map[string]string{"ok.txt": "a", "../evil.txt": "b"}),
		"abs.tar.gz":    tarGz(t, []string{"/tmp/evil.txt"}, map[string]string{"/tmp/evil.txt": "b"}),
		"dotdot.zip":    zipOf(t, []string{"a/../../evil.txt"}, map[string]string{"a/../../evil.txt": "b"}),
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, archive, 0o644)
		dest := filepath.Join(dir, "out-"+name)
		if err := Extract(p, dest); err == nil {
			t.Errorf("%s: unpacked", name)
		}
		if _, err := os.Stat(filepath.Join(dir, "evil.txt")); !os.IsNotExist(err) {
			t.Fatalf("%s wrote outside the target", name)
		}
	}
	// Symbolic links are refused.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink})
	tw.Close()
	p := filepath.Join(dir, "link.tar")
	os.WriteFile(p, buf.Bytes(), 0o644)
	if err := Extract(p, filepath.Join(dir, "out-link")); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("symlink: %v", err)
	}
	// Something that is no archive at all.
	p = filepath.Join(dir, "plain.tar.gz")
	os.WriteFile(p, []byte("<html>moved</html>"), 0o644)
	if err := Extract(p, filepath.Join(dir, "out-plain")); err == nil || !strings.Contains(err.Error(), "not a gzip, tar or zip") {
		t.Errorf("plain file: %v", err)
	}
}

func TestPlainFileEntry(t *testing.T) {
	body := []byte("4.7\t-5.6\t1\t2\t3\n")
	_, ts := newServer(t, map[string][]byte{"/files/scores.tsv": body})
	d := &Downloader{Dir: t.TempDir()}
	e := Entry{Name: "scores", URL: ts.URL + "/files/scores.tsv?download=1", SHA256: sha(body)}
	p, err := d.Install(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(d.Dir, "scores", "scores.tsv") {
		t.Fatalf("installed at %s", p)
	}
	ts2, err := datasets.LoadMarginMSETSV(p)
	if err != nil || len(ts2) != 1 {
		t.Fatalf("%v %v", ts2, err)
	}
}

func TestCacheDirAndRegistry(t *testing.T) {
	t.Setenv("MIMICRY_CACHE", "/some/where")
	if d, err := CacheDir(); err != nil || d != "/some/where" {
		t.Fatalf("CacheDir = %s, %v", d, err)
	}
	t.Setenv("MIMICRY_CACHE", "")
	if d, err := CacheDir(); err == nil && !strings.HasSuffix(d, "mimicry") {
		t.Fatalf("CacheDir = %s", d)
	}
	seen := map[string]bool{}
	for _, e := range Registry() {
		if err := validName(e.Name); err != nil || seen[e.Name] {
			t.Errorf("entry %q: invalid or duplicate name", e.Name)
		}
		seen[e.Name] = true
		if !strings.HasPrefix(e.URL, "http://") && !strings.HasPrefix(e.URL, "https://") {
			t.Errorf("%s: URL %q", e.Name, e.URL)
		}
		if e.Loader != "" && archiveKind(e.fileName()) == "" {
			t.Errorf("%s: loader %q but %q is no archive", e.Name, e.Loader, e.fileName())
		}
		if e.SHA256 != "" && len(e.SHA256) != 64 {
			t.Errorf("%s: malformed SHA-256", e.Name)
		}
	}
	for _, name := range []string{"cranfield", "cacm", "cisi", "medline", "npl", "time", "scifact", "msmarco-passage"} {
		if _, err := Lookup(name); err != nil {
			t.Error(err)
		}
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "cranfield") {
		t.Fatalf("Lookup(nope): %v", err)
	}
	if _, err := (&Downloader{Dir: t.TempDir()}).Install(context.Background(), Entry{Name: "../x", URL: "http://x/a.zip"}); err == nil {
		t.Fatal("escaping name accepted")
	}
}
