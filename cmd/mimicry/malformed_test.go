package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCaptured runs the CLI like main does and returns its exit code and standard error.
func runCaptured(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	code := run(args)
	os.Stderr = saved
	w.Close()
	out, _ := io.ReadAll(r)
	return code, string(out)
}

// TestMalformedInputFailsWithPathLine: a malformed line in an input file makes the command exit with a
// non-zero status, name the file and line, and write nothing.
func TestMalformedInputFailsWithPathLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	badRun := write("bad.trec", "Q0001 Q0 D00001 1 3.5 bm25\nQ0001 Q0 D00002 two 2.5 bm25\n")
	// A SMART collection whose qrels file has a malformed third line.
	smart := filepath.Join(dir, "smart")
	write("smart/cran.all.1400", ".I 1\n.T\nwing flow\n.A\nx\n.B\ny\n.W\nwing flow over a plate\n.I 2\n.T\nheat\n.A\nx\n.B\ny\n.W\nheat transfer\n")
	write("smart/cran.qry", ".I 001\n.W\nwing flow\n.I 002\n.W\nheat\n")
	write("smart/cranqrel", "1 1 2\n2 2 1\n2 x 1\n")
	// A BEIR corpus whose second line is not JSON.
	beir := filepath.Join(dir, "beir")
	write("beir/corpus.jsonl", "{\"_id\":\"d1\",\"title\":\"\",\"text\":\"wing\"}\n{\"_id\":\"d2\",\"text\":\n")
	write("beir/queries.jsonl", "{\"_id\":\"q1\",\"text\":\"wing\"}\n")
	write("beir/qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n")

	cases := []struct {
		name   string
		args   []string
		where  string
		output string
	}{
		{"eval: malformed run", []string{"eval", "--data", "synthetic:3", "--run", badRun, "--metrics", filepath.Join(dir, "m1.json")}, "bad.trec:2", "m1.json"},
		{"bm25: malformed qrels", []string{"bm25", "--data", "smart:" + smart, "--run", filepath.Join(dir, "r2.trec"), "--metrics", filepath.Join(dir, "m2.json")}, "cranqrel:3", "r2.trec"},
		{"negatives: malformed corpus", []string{"negatives", "--data", "beir:" + beir, "--out", filepath.Join(dir, "n3.jsonl")}, "corpus.jsonl:2", "n3.jsonl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := runCaptured(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit status 0; stderr %q", stderr)
			}
			if !strings.Contains(stderr, tc.where) {
				t.Fatalf("stderr %q does not name %s", stderr, tc.where)
			}
			if _, err := os.Stat(filepath.Join(dir, tc.output)); !os.IsNotExist(err) {
				t.Fatalf("%s was written", tc.output)
			}
			for _, other := range []string{"m2.json", "n3.jsonl"} {
				if _, err := os.Stat(filepath.Join(dir, other)); err == nil {
					t.Fatalf("%s was written", other)
				}
			}
		})
	}
}
