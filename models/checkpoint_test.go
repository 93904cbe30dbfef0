package models

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestCheckpointSaveRestore(t *testing.T) {
	m, err := New(KindSPLADE, tinyTestConfig(), 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	before := runHead(t, m)
	dir := t.TempDir()
	c, err := OpenCheckpoints(m, dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c.Step() != -1 || HasCheckpoint(dir) {
		t.Fatal("fresh directory reports a checkpoint")
	}
	for _, step := range []int{10, 20, 30} {
		if err := c.Save(step); err != nil {
			t.Fatal(err)
		}
	}
	if !HasCheckpoint(dir) || HasCheckpoint(dir+"-missing") {
		t.Fatal("HasCheckpoint misses the saved checkpoints or finds one in a missing directory")
	}
	if _, err := os.Stat(c.Path(10)); !os.IsNotExist(err) {
		t.Fatal("keep=2 left the oldest checkpoint")
	}
	m2, c2, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Kind != KindSPLADE || c2.Step() != 30 {
		t.Fatalf("kind %s step %d", m2.Kind, c2.Step())
	}
	if after := runHead(t, m2); !slices.Equal(before, after) {
		t.Fatal("restored model computes different outputs")
	}
	p1, _ := m.Params()
	p2, err := m2.Params()
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range p1 {
		if !slices.Equal(tensors.MustCopyFlatData[float64](v), tensors.MustCopyFlatData[float64](p2[name])) {
			t.Fatalf("%s differs after restore", name)
		}
	}
	if _, _, err := LoadCheckpoint(t.TempDir()); err == nil {
		t.Fatal("loading an empty directory succeeded")
	}
	// A truncated newest checkpoint (which atomic writes prevent, but a disk can still corrupt) is
	// an error naming the file, not a panic.
	data, _ := os.ReadFile(c.Path(30))
	if err := os.WriteFile(c.Path(30), data[:len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadCheckpoint(dir); err == nil {
		t.Fatal("truncated checkpoint loaded")
	}
}

// TestCheckpointResumeKeepsMarking: a cross-encoder trained on marked pairs cannot be resumed as
// one that reads plain pairs (the weights fit either way).
func TestCheckpointResumeKeepsMarking(t *testing.T) {
	cfg := tinyTestConfig()
	cfg.MarkExactMatches = true
	m, err := New(KindCrossEncoder, cfg, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, err := OpenCheckpoints(m, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(10); err != nil {
		t.Fatal(err)
	}
	plain := *cfg
	plain.MarkExactMatches = false
	m2, err := New(KindCrossEncoder, &plain, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoints(m2, dir, 0); err == nil || !strings.Contains(err.Error(), "mimicry_mark_exact_matches") {
		t.Errorf("resuming marked checkpoints unmarked: %v", err)
	}
	m3, err := New(KindCrossEncoder, cfg, 0, 6)
	if err != nil {
		t.Fatal(err)
	}
	if c3, err := OpenCheckpoints(m3, dir, 0); err != nil || c3.Step() != 10 {
		t.Errorf("resuming with the same setting: %v", err)
	}
}
