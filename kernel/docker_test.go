package kernel

import (
	"fmt"
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
// version is pinned to an exact version, the base image has a fixed tag, and its JupyterLab is the
// one docker/requirements.txt pins (what README tells users to install, and CI's browser test runs).
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
	pins, err := readPins(filepath.Join("..", "docker", "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if pins["jupyterlab"] == "" {
		t.Error("docker/requirements.txt pins no jupyterlab==VERSION")
	} else if args["JUPYTERLAB_VERSION"] != pins["jupyterlab"] {
		t.Errorf("Dockerfile's JUPYTERLAB_VERSION %q differs from docker/requirements.txt's jupyterlab==%s", args["JUPYTERLAB_VERSION"], pins["jupyterlab"])
	}
	if !strings.Contains(df, `"jupyterlab==${JUPYTERLAB_VERSION}"`) {
		t.Error("the Dockerfile must install jupyterlab==${JUPYTERLAB_VERSION}")
	}
}

// readPins reads the exact pins (name==version) of a pip requirements file, names lower-cased,
// and refuses any other requirement line, naming it.
func readPins(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pins := map[string]string{}
	pin := regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9,._-]+\])?==([0-9][0-9A-Za-z.+!-]*)$`)
	for i, line := range strings.Split(string(data), "\n") {
		if j := strings.Index(line, "#"); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m := pin.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: %q is not an exact pin (name==version)", path, i+1, line)
		}
		pins[strings.ToLower(m[1])] = m[3]
	}
	return pins, nil
}
