package models

import (
	"context"
	"fmt"
	"os"
	"sync"

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
		return "", fmt.Errorf("%s is neither a folder nor a model the hub resolves: %w", ref, err)
	}
	resolved.Store(key, dir)
	return dir, nil
}
