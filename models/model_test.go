package models

import (
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestNewIsDeterministicInSeed(t *testing.T) {
	params := func(seed int64) map[string][]float64 {
		m, err := New(KindColBERT, tinyTestConfig(), 4, seed)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Materialize(testBackend(t)); err != nil {
			t.Fatal(err)
		}
		p, err := m.Params()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]float64{}
		for k, v := range p {
			out[k] = tensors.MustCopyFlatData[float64](v)
		}
		return out
	}
	a, b, c := params(11), params(11), params(12)
	w := "bert.encoder.layer.1.attention.self.query.weight"
	if !slices.Equal(a[w], b[w]) || !slices.Equal(a["linear.weight"], b["linear.weight"]) {
		t.Fatal("same seed, different parameters")
	}
	if slices.Equal(a[w], c[w]) {
		t.Fatal("different seeds, same parameters")
	}
}

func TestPresets(t *testing.T) {
	for _, p := range []string{PresetTiny, PresetSmall, PresetBase} {
		c, err := NewConfig(p, 30522)
		if err != nil {
			t.Fatal(err)
		}
		if c.HiddenSize%c.NumAttentionHeads != 0 {
			t.Fatalf("%s: bad heads", p)
		}
	}
	if c, _ := NewConfig(PresetTiny, 1000); c.HiddenSize != 128 || c.NumHiddenLayers != 2 || c.NumAttentionHeads != 4 {
		t.Fatalf("tiny preset is %+v", c)
	}
	if _, err := NewConfig("huge", 10); err == nil {
		t.Fatal("unknown preset accepted")
	}
}
