package models

import (
	"slices"
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
	if c.HasCheckpoints() {
		t.Fatal("fresh directory reports checkpoints")
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	m2, _, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Kind != KindSPLADE {
		t.Fatalf("kind %s", m2.Kind)
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
}
