package hub

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pythonWithHub returns a Python interpreter that imports huggingface_hub ($VIRTUAL_ENV's, else
// python3 on the PATH), or skips the test.
func pythonWithHub(t *testing.T) string {
	t.Helper()
	var candidates []string
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		candidates = append(candidates, filepath.Join(v, "bin", "python"))
	}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, py := range candidates {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := exec.CommandContext(ctx, py, "-c", "import huggingface_hub").Run()
		cancel()
		if err == nil {
			return py
		}
	}
	t.Skip("no Python with huggingface_hub (pip install huggingface_hub in $VIRTUAL_ENV): the shared-cache check needs it")
	return ""
}

func python(t *testing.T, py string, env []string, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// TestCacheSharedWithHuggingFaceHub: what Resolve downloads, huggingface_hub finds offline; what
// huggingface_hub downloads (from the same fake hub, through its redirects), Resolve finds offline.
func TestCacheSharedWithHuggingFaceHub(t *testing.T) {
	py := pythonWithHub(t)
	h := newFakeHub(t)
	files := tinyRepo()
	h.add("org/tiny", commitA, files)
	env := []string{"HF_HUB_DISABLE_TELEMETRY=1", "HF_HUB_DISABLE_PROGRESS_BARS=1", "HF_ENDPOINT=" + h.srv.URL}

	goCache := t.TempDir()
	dir, err := Resolve(context.Background(), "org/tiny", opts(h, goCache))
	if err != nil {
		t.Fatal(err)
	}
	got := python(t, py, append(env, "HF_HUB_OFFLINE=1"), `
from huggingface_hub import snapshot_download, hf_hub_download
d = snapshot_download("org/tiny", cache_dir=`+quote(goCache)+`, local_files_only=True)
p = hf_hub_download("org/tiny", "model.safetensors", cache_dir=`+quote(goCache)+`, local_files_only=True)
assert open(p, "rb").read() == open(d + "/model.safetensors", "rb").read()
print(d)`)
	if got != dir {
		t.Errorf("huggingface_hub finds the snapshot at %s, Resolve made %s", got, dir)
	}

	pyCache := t.TempDir()
	python(t, py, env, `
from huggingface_hub import hf_hub_download
for f in ["config.json", "model.safetensors", "1_Pooling/config.json"]:
    hf_hub_download("org/tiny", f, cache_dir=`+quote(pyCache)+`)
print("ok")`)
	o := opts(h, pyCache)
	o.Offline = true
	dir, err = Resolve(context.Background(), "org/tiny", o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "model.safetensors", "1_Pooling/config.json"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || string(data) != string(files[f]) {
			t.Errorf("%s downloaded by huggingface_hub, read through Resolve: %d bytes, %v", f, len(data), err)
		}
	}
	// Online again: Resolve completes huggingface_hub's partial snapshot, reusing its blobs.
	heads := h.cdnGets
	if _, err := Resolve(context.Background(), "org/tiny", opts(h, pyCache)); err != nil {
		t.Fatal(err)
	}
	if h.cdnGets != heads {
		t.Errorf("Resolve downloaded model.safetensors again (%d CDN requests) although huggingface_hub had cached it", h.cdnGets-heads)
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
