package kernel

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTypesetMath typesets the formulas of a page shaped like nbconvert's: those of Markdown cells
// become SVG, code and outputs keep their dollars, and a TeX error fails naming the formula. It needs
// Node.js and `npm ci --prefix kernel/browser` (CI has both).
func TestTypesetMath(t *testing.T) {
	repo, err := FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("Node.js is not installed: skipping the formula typesetting")
	}
	if _, err := os.Stat(filepath.Join(repo, mathjaxPackage)); err != nil {
		t.Skip("kernel/browser/node_modules is missing (npm ci --prefix kernel/browser): skipping the formula typesetting")
	}
	page := func(md string) string {
		return `<!DOCTYPE html><html><head></head><body class="jp-Notebook">` +
			`<div class="jp-Cell jp-MarkdownCell"><div class="jp-InputArea"><div class="jp-RenderedMarkdown jp-MarkdownOutput"><p>` + md + `</p></div></div></div>` +
			`<div class="jp-OutputArea"><div class="jp-OutputArea-output"><pre>costs $5 and $6</pre></div></div></body></html>`
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.html")
	touch(t, good, page(`a margin $t_1 - t_2$ and $$\mathcal{L} = \big(s - t\big)^2$$`))
	if note, err := TypesetMath(context.Background(), repo, good); err != nil || note != "" {
		t.Fatalf("TypesetMath: %q, %v", note, err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	html := string(data)
	if n := strings.Count(html, "<mjx-container"); n != 2 || strings.Count(html, "<svg") < 2 {
		t.Errorf("%d formulas typeset, want 2:\n%.600s", n, html)
	}
	if strings.Contains(html, "$t_1") || strings.Contains(html, "$$") || !strings.Contains(html, "costs $5 and $6") {
		t.Errorf("TeX left in the Markdown, or an output's dollars taken for math:\n%s", html)
	}
	if strings.Contains(html, "<script") {
		t.Error("the page has a script")
	}

	bad := filepath.Join(dir, "bad.html")
	touch(t, bad, page(`$\nosuchmacro x$`))
	before, _ := os.ReadFile(bad)
	if _, err := TypesetMath(context.Background(), repo, bad); err == nil || !strings.Contains(err.Error(), `\\nosuchmacro x`) {
		t.Errorf("a TeX error: %v", err)
	}
	if after, _ := os.ReadFile(bad); string(after) != string(before) {
		t.Error("the page with a TeX error was rewritten")
	}
}
