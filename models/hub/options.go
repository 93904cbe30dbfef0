package hub

import (
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultEndpoint is the Hugging Face Hub, used when HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// Options says where and how to resolve ids. The zero value (or nil) takes everything from the
// environment, as huggingface_hub does.
type Options struct {
	// Endpoint is the hub's base URL; "" reads HF_ENDPOINT, else DefaultEndpoint.
	Endpoint string
	// CacheDir is the hub cache; "" reads HF_HUB_CACHE (or the older HUGGINGFACE_HUB_CACHE), else
	// $HF_HOME/hub, $HF_HOME defaulting to $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface.
	CacheDir string
	// Offline reads only the cache. HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to 1, true, yes or
	// on makes every resolution offline whatever this field says.
	Offline bool
	// Token is sent as "Authorization: Bearer" to the endpoint's host (private or gated models);
	// "" reads HF_TOKEN.
	Token string
	// Client makes the requests (default: a client with no overall timeout, so large files can take
	// their time; cancel through the context instead).
	Client *http.Client
	// Retries is how many times an interrupted transfer is resumed within one call (default 5;
	// negative: none, the partial file is kept for the next call).
	Retries int
	// Files chooses which of the repository's files to fetch (default [ModelFiles]).
	Files func(path string) bool
	// Log, when set, receives one line per file downloaded.
	Log io.Writer
}

// withDefaults returns a copy of o (or of the zero Options) completed from the environment.
func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Endpoint == "" {
		out.Endpoint = os.Getenv("HF_ENDPOINT")
	}
	if out.Endpoint == "" {
		out.Endpoint = DefaultEndpoint
	}
	out.Endpoint = strings.TrimRight(out.Endpoint, "/")
	if out.CacheDir == "" {
		out.CacheDir = DefaultCacheDir()
	}
	if envTrue("HF_HUB_OFFLINE") || envTrue("TRANSFORMERS_OFFLINE") {
		out.Offline = true
	}
	if out.Token == "" {
		out.Token = os.Getenv("HF_TOKEN")
	}
	if out.Client == nil {
		out.Client = &http.Client{}
	}
	if out.Retries == 0 {
		out.Retries = 5
	}
	if out.Files == nil {
		out.Files = ModelFiles
	}
	return out
}

// DefaultCacheDir is huggingface_hub's cache folder as the environment sets it.
func DefaultCacheDir() string {
	for _, v := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if d := os.Getenv(v); d != "" {
			return expandHome(d)
		}
	}
	home := os.Getenv("HF_HOME")
	if home == "" {
		xdg := os.Getenv("XDG_CACHE_HOME")
		if xdg == "" {
			xdg = filepath.Join(userHome(), ".cache")
		}
		home = filepath.Join(xdg, "huggingface")
	}
	return filepath.Join(expandHome(home), "hub")
}

func userHome() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		return filepath.Join(userHome(), p[1:])
	}
	return p
}

// envTrue reads a boolean environment variable as huggingface_hub does (1, ON, YES, TRUE).
func envTrue(name string) bool {
	switch strings.ToUpper(strings.TrimSpace(os.Getenv(name))) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// ModelFiles is the default file filter: what Mimicry reads from a model repository —
// configuration and tokenizer files (.json, .txt), safetensors weights, and the modules of a
// sentence-transformers or PyLate model (their folders' .json and .safetensors) — and not the
// copies of the weights in other formats (pytorch_model.bin, TensorFlow, Flax, ONNX, OpenVINO,
// Core ML), which can be many times the size of the model.
func ModelFiles(p string) bool {
	dir := path.Dir(p)
	for _, skip := range []string{"onnx", "openvino", "coreml", "tflite"} {
		if dir == skip || strings.HasPrefix(dir, skip+"/") {
			return false
		}
	}
	switch path.Ext(p) {
	case ".json", ".txt", ".safetensors":
		return !strings.HasPrefix(path.Base(p), ".")
	}
	return false
}
