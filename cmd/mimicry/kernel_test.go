package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "default", "")
	verbose := fs.Bool("v", false, "")
	got, err := parseInterleaved(fs, []string{"a.ipynb", "--out", "X", "b.ipynb", "-v", "--", "-c.ipynb", "--out"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.ipynb", "b.ipynb", "-c.ipynb", "--out"}; !reflect.DeepEqual(got, want) {
		t.Errorf("positional = %q, want %q", got, want)
	}
	if *out != "X" || !*verbose {
		t.Errorf("flags after positional arguments were not parsed: out=%q v=%v", *out, *verbose)
	}
	if _, err := parseInterleaved(fs, []string{"a.ipynb", "--nope"}); err == nil {
		t.Error("an unknown flag after a positional argument was accepted")
	}
}

func TestKernelCommands(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"help"}, 0, "kernel install"},
		{[]string{"help"}, 0, "kernel run"},
		{[]string{"kernel", "run"}, 1, "no notebook given"},
		{[]string{"kernel", "run", t.TempDir(), "--out", filepath.Join(dir, "out")}, 0, ""}, // no notebook: nothing to do
		{[]string{"kernel", "run", notes}, 1, "not a notebook"},
		{[]string{"kernel", "run", "--timeout", "soon", dir}, 1, "invalid value"},
		{[]string{"kernel", "install", "--user=false"}, 1, "needs --prefix"},
		{[]string{"kernel", "install", "extra"}, 1, "unexpected arguments"},
		{[]string{"kernel", "install", "--name", "bad name"}, 1, "kernelspec name"},
	}
	for _, c := range cases {
		code, stderr := runCaptured(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.stderr) {
			t.Errorf("mimicry %q: exit %d (want %d), stderr:\n%s\n(want it to contain %q)", c.args, code, c.code, stderr, c.stderr)
		}
	}
}
