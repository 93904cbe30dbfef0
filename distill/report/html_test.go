package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteHTML writes a small run's report and its page: every figure inline, the tables, the
// notebook links relative to the page, and nothing fetched from outside.
func TestWriteHTML(t *testing.T) {
	dir := t.TempDir()
	r := &Report{
		Dataset: Dataset{Name: "toy", Documents: 3, Queries: 1}, Preset: "tiny", Seed: 1, Backend: "go",
		Systems: map[string]map[string]float64{SystemBM25: {"nDCG@10": 0.5}, SystemTeacher: {"nDCG@10": 0.8}},
		Details: Details{
			Curves:  map[string][]CurvePoint{"teacher": {{Step: 10, Loss: 1.4}, {Step: 20, Loss: 1.1}}},
			Example: &Example{DocID: "d1", Terms: []Term{{"river", 2.1}, {"##port<", 1.5}}},
		},
	}
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	nbDir := filepath.Join(t.TempDir(), "notebooks")
	for _, f := range []string{"02_b.html", "01_a.html", "01_a.ipynb"} {
		touch(t, filepath.Join(nbDir, f))
	}
	page, err := WriteHTML(dir, nbDir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(data)
	rel, _ := filepath.Rel(dir, nbDir)
	for _, want := range []string{"<title>Distilling a cross-encoder into ColBERT and SPLADE on toy</title>", "<table>", ">0.5000</td>",
		`<a href="` + filepath.ToSlash(filepath.Join(rel, "01_a.html")) + `">01_a</a>`, "<figcaption>The top expanded terms", "##port&lt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Index(html, ">01_a<") > strings.Index(html, ">02_b<") {
		t.Error("notebook links are not sorted")
	}
	if n := strings.Count(html, "<figure>"); n != 2 || strings.Count(html, "<svg ") != 2 {
		t.Errorf("%d inline figures, want 2 (training curves, top terms)", n)
	}
	for _, bad := range []string{"<img", "<script", "http://", "https://", "figures/"} {
		if i := strings.Index(html, bad); i >= 0 && !(bad == "http://" && strings.Contains(html[i:i+40], "www.w3.org")) {
			t.Errorf("the page has %q: it would need a file or a network", html[i:min(len(html), i+80)])
		}
	}

	if _, err := WriteHTML(dir, filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing notebooks directory was accepted")
	}
	if _, err := WriteHTML(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), "report.json") {
		t.Errorf("a directory without report.json: %v", err)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}
