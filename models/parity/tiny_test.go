package parity

import (
	"fmt"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// TestTinyCrossEncoderMatchesTransformers: a seeded BertForSequenceClassification saved by
// transformers gives the same logits here, for single texts and for (query, passage) pairs.
func TestTinyCrossEncoderMatchesTransformers(t *testing.T) {
	f := readFixture(t, "tiny.safetensors")
	m := importHF(t, "testdata/tiny-ce", "")
	if m.Kind != models.KindCrossEncoder {
		t.Fatalf("tiny-ce imported as %s, want cross-encoder (config.json's architectures)", m.Kind)
	}
	logits := func(ctx *context.Context, ids, types, mask *Node) []*Node {
		return []*Node{models.CrossEncoderLogits(ctx, m.Config, ids, types, mask)}
	}
	for _, nb := range testBackends(t) {
		for _, c := range []struct{ ids, types, lengths, want string }{
			{"ids", "types", "lengths", "ce_logits"},
			{"pair_ids", "pair_types", "pair_lengths", "pair_logits"},
		} {
			ids, shape := ints(t, f, c.ids)
			types, _ := ints(t, f, c.types)
			lengths, _ := ints(t, f, c.lengths)
			want, _ := f32s(t, f, c.want)
			got := run(t, nb.be, m, rows(ids, shape, types, lengths), logits)
			compare(t, fmt.Sprintf("%s: tiny cross-encoder %s", nb.name, c.want), got[0].values, want)
		}
	}
}

// TestTinyMLMAndSPLADEMatchTransformers: a seeded BertForMaskedLM saved by transformers (decoder
// tied to the word embeddings) gives the same MLM logits, and the same SPLADE vectors
// max_i log(1 + relu(logits_i)) over real tokens.
func TestTinyMLMAndSPLADEMatchTransformers(t *testing.T) {
	f := readFixture(t, "tiny.safetensors")
	m := importHF(t, "testdata/tiny-mlm", "")
	if m.Kind != models.KindSPLADE {
		t.Fatalf("tiny-mlm imported as %s, want splade (BertForMaskedLM)", m.Kind)
	}
	ids, shape := ints(t, f, "ids")
	types, _ := ints(t, f, "types")
	lengths, _ := ints(t, f, "lengths")
	positions, _ := ints(t, f, "mlm_positions")
	wantMLM, mlmShape := f32s(t, f, "mlm_logits") // [N, P, V]
	wantSplade, _ := f32s(t, f, "splade")
	b := rows(ids, shape, types, lengths)
	for _, nb := range testBackends(t) {
		out := run(t, nb.be, m, b, func(ctx *context.Context, ids, types, mask *Node) []*Node {
			hidden := models.BertEncoder(ctx.In("bert"), m.Config, ids, types, mask)
			return []*Node{models.MLMLogits(ctx, m.Config, hidden), models.SpladeVectors(ctx, m.Config, ids, types, mask)}
		})
		logits, l, v := out[0].values, out[0].shape[1], out[0].shape[2]
		np := mlmShape[1]
		var got []float32
		for i := range shape[0] {
			for k := range np {
				pos := int(positions[i*np+k])
				got = append(got, logits[(i*l+pos)*v:(i*l+pos+1)*v]...)
			}
		}
		compare(t, nb.name+": tiny MLM logits", got, wantMLM)
		compare(t, nb.name+": tiny SPLADE vectors", out[1].values, wantSplade)
	}
}

// TestTinyPyLateMatchesPyLate: a ColBERT folder written by PyLate (BertModel + 1_Dense projection,
// its [Q]/[D] prefix tokens) gives PyLate's token embeddings for its queries (padded with [MASK],
// not attended to) and documents.
func TestTinyPyLateMatchesPyLate(t *testing.T) {
	f := readFixture(t, "pylate.safetensors")
	m := importHF(t, "testdata/tiny-pylate", "")
	if m.Kind != models.KindColBERT || m.ColBERTDim != 16 {
		t.Fatalf("tiny-pylate imported as %s with dim %d, want colbert with 16", m.Kind, m.ColBERTDim)
	}
	want := models.ColBERTText{QueryPrefix: "[Q] ", DocumentPrefix: "[D] ", QueryLength: 16, DocumentLength: 40}
	if m.ColBERTText == nil || *m.ColBERTText != want {
		t.Errorf("ColBERTText = %+v, want %+v (config_sentence_transformers.json)", m.ColBERTText, want)
	}
	for _, nb := range testBackends(t) {
		for _, what := range []string{"query", "doc"} {
			ids, shape := ints(t, f, what+"_ids")
			mask, _ := ints(t, f, what+"_mask")
			wantEmb, _ := f32s(t, f, what+"_embeddings")
			full := make([]int64, shape[0])
			for i := range full {
				full[i] = int64(shape[1])
			}
			b := rows(ids, shape, nil, full)
			for i := range b.mask { // PyLate's own mask: 0 on [MASK] query expansion and on padding
				for j := range b.mask[i] {
					b.mask[i][j] = int32(mask[i*shape[1]+j])
				}
			}
			out := run(t, nb.be, m, b, func(ctx *context.Context, ids, types, mask *Node) []*Node {
				return []*Node{models.ColBERTEmbeddings(ctx, m.Config, m.ColBERTDim, ids, mask)}
			})
			compare(t, fmt.Sprintf("%s: PyLate %s token embeddings", nb.name, what), out[0].values, wantEmb)
		}
	}
}

// TestTinyPyLateTokenizerLayout checks that the Go tokenizer lays out PyLate's inputs: [CLS], the
// prefix token, the text, [SEP]; queries padded with [MASK] to query_length. It needs the prefix
// tokens that PyLate adds to tokenizer.json ("[Q] ", "[D] ") to be read as added tokens.
func TestTinyPyLateTokenizerLayout(t *testing.T) {
	f := readFixture(t, "pylate.safetensors")
	texts, _, err := Texts()
	if err != nil {
		t.Fatal(err)
	}
	tk, err := models.LoadHFTokenizer("testdata/tiny-pylate")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what   string
		texts  []string
		marker string
		maxLen int
		opts   []tokenizer.Option
	}{
		{"query", texts[1:9], "[Q] ", 16, []tokenizer.Option{tokenizer.WithPadToken(tokenizer.MaskToken)}},
		{"doc", texts[18:26], "[D] ", 40, []tokenizer.Option{tokenizer.WithPadToken(tokenizer.MaskToken)}},
	} {
		if _, ok := tk.TokenToID(c.marker); !ok {
			t.Skipf("KNOWN GAP (models/tokenizer): PyLate's added token %q is not in the Go tokenizer's vocabulary; "+
				"the ColBERT model parity above feeds PyLate's ids instead", c.marker)
		}
		b, err := tokenizer.EncodeBatch(tk, c.texts, c.maxLen, append(c.opts, tokenizer.WithMarker(c.marker))...)
		if err != nil {
			t.Fatal(err)
		}
		ids, shape := ints(t, f, c.what+"_ids")
		mask, _ := ints(t, f, c.what+"_mask")
		for i := range c.texts {
			var want, got []int
			for j := range shape[1] {
				if mask[i*shape[1]+j] == 1 || c.what == "query" {
					want = append(want, int(ids[i*shape[1]+j]))
				}
			}
			gotIDs, _, _ := b.Row(i)
			for j, id := range gotIDs {
				if c.what == "query" || j < b.Lengths[i] {
					got = append(got, int(id))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %d %q: Go ids %v, PyLate's %v", c.what, i, c.texts[i], got, want)
			}
		}
	}
}
