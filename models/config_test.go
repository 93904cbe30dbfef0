package models

import (
	"math"
	"testing"
)

func TestResize(t *testing.T) {
	c, err := NewConfig(PresetTiny, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Resize(64, 3); err != nil {
		t.Fatal(err)
	}
	if c.HiddenSize != 64 || c.NumAttentionHeads != 2 || c.IntermediateSize != 256 || c.NumHiddenLayers != 3 || math.Abs(c.InitializerRange-0.125) > 1e-12 {
		t.Fatalf("tiny resized to 64×3: %+v", c)
	}
	b, _ := NewConfig(PresetBase, 100)
	if err := b.Resize(96, 0); err != nil {
		t.Fatal(err)
	}
	if b.NumAttentionHeads != 1 || b.InitializerRange != 0.02 || b.NumHiddenLayers != 12 {
		t.Fatalf("base resized to 96: heads %d, init %g, layers %d", b.NumAttentionHeads, b.InitializerRange, b.NumHiddenLayers)
	}
	if err := b.Resize(-1, 0); err == nil {
		t.Fatal("negative size accepted")
	}
}
