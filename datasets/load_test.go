package datasets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadSpecErrors(t *testing.T) {
	for _, spec := range []string{"", "cranfield", "smart", "smart:", "beir:", "msmarco:", "trec:x", "synthetic:abc"} {
		_, err := Load(spec)
		if err == nil {
			t.Errorf("Load(%q) succeeded", spec)
			continue
		}
		if spec != "synthetic:abc" && !strings.Contains(err.Error(), "beir:<dir>[:<split>]") {
			t.Errorf("Load(%q): error does not list the accepted forms: %v", spec, err)
		}
	}
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Load(dir): %v", err)
	}
	if _, err := Load("beir:" + dir + ":"); err == nil || !strings.Contains(err.Error(), "empty split") {
		t.Errorf("empty split: %v", err)
	}
	if _, err := Load("smart:a,b"); err == nil {
		t.Error("two files accepted")
	}
	if _, err := Load("smart:" + filepath.Join(dir, "a") + ",b,c"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing files: %v", err)
	}
}

func TestLoadSynthetic(t *testing.T) {
	c, err := Load("synthetic:7")
	if err != nil {
		t.Fatalf("Load(synthetic:7): %v", err)
	}
	want, err := Synthetic(7)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != want.Name || len(c.Docs) != len(want.Docs) || len(c.Docs) == 0 {
		t.Fatalf("Load(synthetic:7) = %s with %d docs, Synthetic(7) = %s with %d", c.Name, len(c.Docs), want.Name, len(want.Docs))
	}
	if _, err := Load("synthetic"); err != nil {
		t.Fatalf("Load(synthetic): %v", err)
	}
}

func TestReadFileGzipErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.tsv.gz")
	if err := os.WriteFile(p, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMSMARCOCollection(p); err == nil || !strings.Contains(err.Error(), "not a gzip file") {
		t.Fatalf("got %v", err)
	}
	if _, err := LoadMSMARCOCollection(filepath.Join(dir, "missing.tsv")); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
}
