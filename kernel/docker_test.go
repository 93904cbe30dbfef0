package kernel

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// TestDockerfilePins lints docker/Dockerfile, which cannot be built where Mimicry is developed: its
// Go is at least go.mod's, GoNB comes from go.mod (the kernel install, not @latest), every ARG
// version is pinned to an exact version, and the base image has a fixed tag.
func TestDockerfilePins(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	gomod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ARG ([A-Z_]+)=(\S+)$`).FindAllStringSubmatch(df, -1) {
		args[m[1]] = m[2]
	}
	goVersion := args["GO_VERSION"]
	if goVersion == "" || semver.Compare("v"+goVersion, "v"+mf.Go.Version) < 0 {
		t.Errorf("Dockerfile's GO_VERSION %q is older than go.mod's go %s", goVersion, mf.Go.Version)
	}
	for name, v := range args {
		if strings.HasSuffix(name, "_VERSION") && !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
			t.Errorf("ARG %s=%s is not an exact version", name, v)
		}
	}
	if !strings.Contains(df, "kernel install") || strings.Contains(df, "gonb@latest") {
		t.Error("the Dockerfile must install GoNB through `mimicry kernel install` (go.mod's version), never @latest")
	}
	if m := regexp.MustCompile(`(?m)^FROM (\S+)`).FindStringSubmatch(df); m == nil || !strings.Contains(m[1], ":") || strings.HasSuffix(m[1], ":latest") {
		t.Errorf("the base image must have a fixed tag: %v", m)
	}
	if !strings.Contains(df, "jax-cuda13-pjrt") {
		t.Error("the GPU variant must install the PJRT CUDA plugin")
	}
}
