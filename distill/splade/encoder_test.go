package splade

import (
	"strings"
	"testing"
)

// Texts of many lengths compile one graph per padded length: more than GoMLX's default cache of 32
// graphs must not stop the encoder (it did, encoding SciFact's passages at 256 tokens and then its
// queries).
func TestEncoderHandlesManyShapes(t *testing.T) {
	f := newSpladeFixture(t)
	word := strings.Fields(f.col.Docs[0].Text)[0]
	var texts []string
	for n := 1; n <= 300; n += 7 { // 43 texts, more than 32 padded lengths
		texts = append(texts, strings.Repeat(word+" ", n))
	}
	enc := &Encoder{Model: f.newModel(t, 3), Tokenizer: f.tk, Backend: f.be, BatchSize: 1, Quiet: true}
	vecs, err := enc.Encode(texts, 320, "passages")
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
	}
}
