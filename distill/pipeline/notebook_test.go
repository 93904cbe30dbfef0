package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSciFact makes a folder that SciFactDir accepts.
func fakeSciFact(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "corpus.jsonl"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestNotebookConfig: the notebooks get the SciFact slice only when both the checkpoint and the
// files are there, the synthetic workshop otherwise (saying why), and MIMICRY_NOTEBOOKS overrides.
func TestNotebookConfig(t *testing.T) {
	runs := t.TempDir()
	haveCheckpoint := checkpointOffline(MiniLMModel)

	t.Run("forced synthetic", func(t *testing.T) {
		t.Setenv(NotebooksEnv, "synthetic")
		t.Setenv(SciFactEnv, fakeSciFact(t))
		run, err := NotebookConfig(runs)
		if err != nil {
			t.Fatal(err)
		}
		if run.Profile != NotebookSynthetic || run.Config.Data != "synthetic" || run.Config.OutDir != filepath.Join(runs, "workshop") {
			t.Errorf("got %s on %s in %s, want the synthetic workshop", run.Profile, run.Config.Data, run.Config.OutDir)
		}
	})
	t.Run("no SciFact", func(t *testing.T) {
		t.Setenv(NotebooksEnv, "")
		t.Setenv(SciFactEnv, t.TempDir()) // no corpus.jsonl
		run, err := NotebookConfig(runs)
		if err != nil {
			t.Fatal(err)
		}
		if run.Profile != NotebookSynthetic || !strings.Contains(run.Why, "corpus.jsonl") {
			t.Errorf("got %s (%q), want the synthetic workshop and why", run.Profile, run.Why)
		}
		t.Setenv(NotebooksEnv, "scifact")
		if _, err := NotebookConfig(runs); err == nil || !strings.Contains(err.Error(), SciFactEnv) {
			t.Errorf("%s=scifact without SciFact: error %v, want one naming %s", NotebooksEnv, err, SciFactEnv)
		}
	})
	t.Run("bad value", func(t *testing.T) {
		t.Setenv(NotebooksEnv, "msmarco")
		if _, err := NotebookConfig(runs); err == nil || !strings.Contains(err.Error(), NotebooksEnv) {
			t.Errorf("error %v, want one naming %s", err, NotebooksEnv)
		}
	})
	t.Run("SciFact", func(t *testing.T) {
		if !haveCheckpoint {
			t.Skipf("%s is not available offline (pip install -r docker/requirements.txt): the SciFact choice is not testable here", MiniLMModel)
		}
		dir := fakeSciFact(t)
		t.Setenv(NotebooksEnv, "")
		t.Setenv(SciFactEnv, dir)
		run, err := NotebookConfig(runs)
		if err != nil {
			t.Fatal(err)
		}
		c := run.Config
		if run.Profile != NotebookSciFact || c.Data != "beir:"+dir || c.Init != MiniLMModel || c.Preset != PresetMiniLM ||
			c.Scale != SliceScale() || c.OutDir != filepath.Join(runs, "workshop-scifact") {
			t.Errorf("got %s: %+v, want the SciFact slice from MiniLM", run.Profile, c)
		}
		if !strings.Contains(run.Why, NotebooksEnv+"=synthetic") {
			t.Errorf("Why %q does not say how to get the synthetic run", run.Why)
		}
	})
}

// TestSciFactDirBesideRepo: without MIMICRY_SCIFACT, the data beside the repository is found from
// MIMICRY_REPO.
func TestSciFactDirBesideRepo(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	data := filepath.Join(root, "shared", "data", "scifact")
	for _, d := range []string{repo, data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(data, "corpus.jsonl"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(SciFactEnv, "")
	t.Setenv("MIMICRY_REPO", repo)
	got, err := SciFactDir()
	if err != nil {
		t.Fatal(err)
	}
	if got != data {
		t.Errorf("SciFactDir() = %s, want %s", got, data)
	}
}

// TestSciFactDirInDownloadCache: with nothing beside the repository, `mimicry download scifact`'s
// copy is found where download.Install put it.
func TestSciFactDirInDownloadCache(t *testing.T) {
	cache := t.TempDir()
	data := filepath.Join(cache, "scifact", "scifact") // <cache>/<name>/<Subdir>
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "corpus.jsonl"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(SciFactEnv, "")
	t.Setenv("MIMICRY_REPO", "")
	t.Setenv("MIMICRY_CACHE", cache)
	t.Chdir(t.TempDir()) // no ../shared/data/scifact above it
	got, err := SciFactDir()
	if err != nil {
		t.Fatal(err)
	}
	if got != data {
		t.Errorf("SciFactDir() = %s, want %s", got, data)
	}
}
