package backend

import (
	"os"
	"path/filepath"
	"strings"
)

// prepareCUDAEnv works around go-xla v0.1.4, which, after loading a CUDA plugin that has an "nvidia"
// directory next to its parent directory, sets XLA_FLAGS=--xla_gpu_cuda_data_dir= to a path hard-coded to
// its author's home directory (if XLA_FLAGS doesn't set that flag already). For such a plugin given by
// absolute path, it sets the flag first, to the directory go-xla meant to use. It changes nothing for other
// configurations, if the flag is already set, or if GOPJRT_CUDA_CHECKS disables go-xla's check.
func prepareCUDAEnv(config string) {
	_, plugin, _ := strings.Cut(config, ":")
	plugin, _, _ = strings.Cut(plugin, ",")
	if !filepath.IsAbs(plugin) {
		return
	}
	upper := strings.ToUpper(plugin)
	if !strings.Contains(upper, "CUDA") && !strings.Contains(upper, "NVIDIA") {
		return
	}
	if checks := strings.ToUpper(os.Getenv("GOPJRT_CUDA_CHECKS")); checks != "" && checks != "1" &&
		checks != "TRUE" && checks != "YES" {
		return
	}
	const flagsEnv, flag = "XLA_FLAGS", "--xla_gpu_cuda_data_dir"
	flags := os.Getenv(flagsEnv)
	if strings.Contains(flags, flag) {
		return
	}
	nvidia := filepath.Join(filepath.Dir(filepath.Dir(plugin)), "nvidia")
	if fi, err := os.Stat(nvidia); err != nil || !fi.IsDir() {
		return
	}
	_ = os.Setenv(flagsEnv, strings.TrimSpace(flags+" "+flag+"="+nvidia))
}
