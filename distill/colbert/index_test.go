package colbert

import (
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
)

func TestColBERTHalfFloats(t *testing.T) {
	// Every half value survives widening and narrowing.
	for h := range 1 << 16 {
		f := colbertFromHalf(uint16(h))
		if math.IsNaN(float64(f)) {
			if g := colbertToHalf(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, g)
			}
			continue
		}
		if g := colbertToHalf(f); g != uint16(h) {
			t.Fatalf("half %#04x → %v → %#04x", h, f, g)
		}
	}
	cases := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff}, {65520, 0x7c00}, {1e9, 0x7c00},
		{float32(math.Ldexp(1, -24)), 0x0001}, {float32(math.Ldexp(1, -25)), 0}, {float32(math.Ldexp(1.5, -25)), 0x0001},
		{float32(math.Ldexp(1, -14)), 0x0400}, {float32(math.Copysign(0, -1)), 0x8000}, {1e-30, 0},
		{1 + 1.0/2048, 0x3c00}, {1 + 3.0/2048, 0x3c02}, // ties go to even
		{float32(math.Inf(-1)), 0xfc00},
	}
	for _, c := range cases {
		if got := colbertToHalf(c.f); got != c.want {
			t.Errorf("half(%v) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	// Random teacher.floats round to the nearest half.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		f := float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-6)))
		h := colbertToHalf(f)
		got := math.Abs(float64(colbertFromHalf(h)) - float64(f))
		for _, n := range []uint16{h - 1, h + 1} {
			if n&0x7c00 == 0x7c00 {
				continue
			}
			if other := math.Abs(float64(colbertFromHalf(n)) - float64(f)); other < got {
				t.Fatalf("half(%v) = %#04x (error %g) but %#04x is nearer (%g)", f, h, got, n, other)
			}
		}
	}
}

func randomUnit(rng *rand.Rand, n, dim int) []float32 {
	out := make([]float32, n*dim)
	for i := range n {
		var norm float64
		for k := range dim {
			v := rng.NormFloat64()
			out[i*dim+k] = float32(v)
			norm += v * v
		}
		for k := range dim {
			out[i*dim+k] /= float32(math.Sqrt(norm))
		}
	}
	return out
}

// TestMaxSimScoreMatchesGraph compares the plain-Go MaxSim with models.MaxSim on the same
// embeddings, with masked tokens (dropped from the plain-Go documents) and a document without tokens.
func TestMaxSimScoreMatchesGraph(t *testing.T) {
	const b, n, lq, ld, dim = 3, 4, 7, 6, 16 // lq = 7 exercises the 4-at-a-time loop and its remainder
	rng := rand.New(rand.NewPCG(3, 4))
	q := randomUnit(rng, b*lq, dim)
	d := randomUnit(rng, b*n*ld, dim)
	mask := make([]int32, b*n*ld)
	for i := range mask {
		if rng.IntN(3) > 0 {
			mask[i] = 1
		}
	}
	for j := range ld { // document (1, 2) has no token
		mask[(1*n+2)*ld+j] = 0
	}
	res, err := ExecOnce(fixture.Backend(t), func(q, d, m *Node) *Node { return models.MaxSim(q, d, m) },
		tensors.FromFlatDataAndDimensions(q, b, lq, dim), tensors.FromFlatDataAndDimensions(d, b, n, ld, dim),
		tensors.FromFlatDataAndDimensions(mask, b, n, ld))
	if err != nil {
		t.Fatal(err)
	}
	want := tensors.MustCopyFlatData[float32](res)
	for bi := range b {
		for ni := range n {
			var doc []float32
			for j := range ld {
				if mask[(bi*n+ni)*ld+j] != 0 {
					off := ((bi*n+ni)*ld + j) * dim
					doc = append(doc, d[off:off+dim]...)
				}
			}
			got := MaxSimScore(q[bi*lq*dim:(bi+1)*lq*dim], doc, dim)
			if math.Abs(float64(got-want[bi*n+ni])) > 1e-5 {
				t.Errorf("query %d, document %d: plain Go %v, graph %v", bi, ni, got, want[bi*n+ni])
			}
		}
	}
	if want[1*n+2] != 0 || MaxSimScore(q[:lq*dim], nil, dim) != 0 {
		t.Errorf("a document without tokens scores %v (graph), want 0", want[1*n+2])
	}
}

// colbertIndexFixture is a tiny untrained student with its encoder and the index of 80 synthetic
// passages.
type colbertIndexFixture struct {
	enc  *Encoder
	docs []datasets.Document
	ix   *Index
}

var colbertIxFix = sync.OnceValues(func() (*colbertIndexFixture, error) {
	f, err := fixture.ColBERTKeyOnce()
	if err != nil {
		return nil, err
	}
	s, err := fixture.SyntheticOnce()
	if err != nil {
		return nil, err
	}
	be, err := backend.Default()
	if err != nil {
		return nil, err
	}
	m, err := models.New(models.KindColBERT, fixture.TinyConfig(f.Tk.VocabSize()), 16, 9)
	if err != nil {
		return nil, err
	}
	enc := &Encoder{Model: m, Tokenizer: f.Tk, Backend: be, QueryLen: 16, DocLen: 48, BatchSize: 8, Quiet: true}
	docs := s.C.Docs[:80]
	ix, err := BuildIndex(enc, docs)
	return &colbertIndexFixture{enc: enc, docs: docs, ix: ix}, err
})

func getColbertIndexFixture(t *testing.T) *colbertIndexFixture {
	t.Helper()
	f, err := colbertIxFix()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestColBERTEncodeDocs checks that length-bucketed batches give every passage the embeddings it
// gets alone, one per token of ScoreMask, and that the encoder's scores equal the training graph's.
func TestColBERTEncodeDocs(t *testing.T) {
	f := getColbertIndexFixture(t)
	texts := score.Texts(f.docs)
	var passages []string
	for _, d := range f.docs[:12] {
		passages = append(passages, texts[d.ID])
	}
	batched, err := f.enc.EncodeDocs(passages)
	if err != nil {
		t.Fatal(err)
	}
	dim := f.enc.Dim()
	for i, p := range passages {
		alone, err := f.enc.EncodeDocs([]string{p})
		if err != nil {
			t.Fatal(err)
		}
		in, err := models.ColBERTDocInputs(f.enc.Tokenizer, []string{p}, f.enc.DocLen, "")
		if err != nil {
			t.Fatal(err)
		}
		tokens := 0
		for _, v := range tensors.MustCopyFlatData[int32](in.ScoreMask) {
			tokens += int(v)
		}
		if len(batched[i]) != tokens*dim || len(alone[0]) != tokens*dim {
			t.Fatalf("passage %d: %d and %d values, want %d tokens × %d", i, len(batched[i]), len(alone[0]), tokens, dim)
		}
		for k := range alone[0] {
			if math.Abs(float64(batched[i][k]-alone[0][k])) > 1e-5 {
				t.Fatalf("passage %d, value %d: %v in a batch, %v alone", i, k, batched[i][k], alone[0][k])
			}
		}
		if f.ix.Offsets[i+1]-f.ix.Offsets[i] != int64(tokens) {
			t.Fatalf("index: passage %d has %d tokens, want %d", i, f.ix.Offsets[i+1]-f.ix.Offsets[i], tokens)
		}
	}

	// Scores: Encoder.Score (plain Go) against the graph Train optimises.
	queries := []string{"how many people live in port kelda", "what does the vole eat", "who founded it"}
	qs, ps := []string{}, []string{}
	for _, q := range queries {
		for _, p := range passages[:4] {
			qs, ps = append(qs, q), append(ps, p)
		}
	}
	got, err := f.enc.Score(qs, ps)
	if err != nil {
		t.Fatal(err)
	}
	qin, err := models.ColBERTQueryInputs(f.enc.Tokenizer, queries, f.enc.QueryLen, false, "")
	if err != nil {
		t.Fatal(err)
	}
	din, err := models.ColBERTDocInputs(f.enc.Tokenizer, ps, f.enc.DocLen, "")
	if err != nil {
		t.Fatal(err)
	}
	m := f.enc.Model
	exec, err := context.NewExec(f.enc.Backend, m.Ctx, func(ctx *context.Context, in []*Node) *Node {
		q, d := colbertBatchEmbeddings(ctx.In(models.ModelScope), m.Config, m.ColBERTDim, in)
		return colbertTupleScores(q, d, in[4], len(queries), 4)
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Exec(qin.IDs, qin.Mask, din.IDs, din.Mask, din.ScoreMask)
	if err != nil {
		t.Fatal(err)
	}
	want := tensors.MustCopyFlatData[float32](res[0])
	for i := range got {
		if math.Abs(got[i]-float64(want[i])) > 1e-4 {
			t.Errorf("pair %d: encoder %v, training graph %v", i, got[i], want[i])
		}
	}
}

func TestColBERTIndexRoundTrip(t *testing.T) {
	f := getColbertIndexFixture(t)
	dir := t.TempDir()
	p32, p16 := filepath.Join(dir, "f32.colbert"), filepath.Join(dir, "f16.colbert")
	f.ix.Meta.Collection = "synthetic:7"
	if err := f.ix.Write(p32, IndexFloat32); err != nil {
		t.Fatal(err)
	}
	if err := f.ix.Write(p16, IndexFloat16); err != nil {
		t.Fatal(err)
	}
	got, err := ReadIndex(p32)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.DocIDs, f.ix.DocIDs) || !reflect.DeepEqual(got.Offsets, f.ix.Offsets) ||
		!reflect.DeepEqual(got.Vectors, f.ix.Vectors) || got.Meta != f.ix.Meta {
		t.Fatalf("float32 round trip differs: meta %+v vs %+v", got.Meta, f.ix.Meta)
	}
	half, err := ReadIndex(p16)
	if err != nil {
		t.Fatal(err)
	}
	if half.Meta.DType != IndexFloat16 || !reflect.DeepEqual(half.Offsets, f.ix.Offsets) {
		t.Fatalf("float16 index: meta %+v", half.Meta)
	}
	for i, v := range half.Vectors {
		if math.Abs(float64(v-f.ix.Vectors[i])) > 1e-3*math.Abs(float64(f.ix.Vectors[i]))+1e-7 {
			t.Fatalf("float16 value %d: %v, was %v", i, v, f.ix.Vectors[i])
		}
	}
	s32, _ := os.Stat(p32)
	s16, _ := os.Stat(p16)
	if s16.Size() >= s32.Size()*6/10 {
		t.Errorf("float16 index is %d bytes, float32 %d: not about half", s16.Size(), s32.Size())
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// Damage is reported with the path.
	data, _ := os.ReadFile(p32)
	for name, bad := range map[string][]byte{
		"flipped":   append(append([]byte{}, data[:100]...), append([]byte{data[100] ^ 1}, data[101:]...)...),
		"truncated": data[:len(data)-10],
		"magic":     append([]byte("NOTANIDX"), data[8:]...),
	} {
		path := filepath.Join(dir, name+".colbert")
		os.WriteFile(path, bad, 0o644)
		if _, err := ReadIndex(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s index: %v", name, err)
		}
	}
	if _, err := ReadIndex(filepath.Join(dir, "missing.colbert")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing index: %v", err)
	}
	if err := f.ix.Write(filepath.Join(dir, "x.colbert"), "int8"); err == nil || !strings.Contains(err.Error(), "int8") {
		t.Errorf("unknown dtype: %v", err)
	}
	// A failed write leaves nothing behind (the directory does not exist).
	if err := f.ix.Write(filepath.Join(dir, "no", "such", "x.colbert"), IndexFloat32); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

func TestColBERTExhaustiveEqualsRerank(t *testing.T) {
	f := getColbertIndexFixture(t)
	queries := []datasets.Query{{ID: "a", Text: "how many people live in port kelda"}, {ID: "b", Text: "what does the vole eat"},
		{ID: "c", Text: "when was the company founded"}, {ID: "d", Text: "side effects of the drug"}, {ID: "e", Text: "climate"}}
	full, err := f.ix.SearchExhaustive(f.enc, queries, 0)
	if err != nil {
		t.Fatal(err)
	}
	all := map[string][]string{}
	for _, q := range queries {
		all[q.ID] = f.ix.DocIDs
	}
	rr, err := f.ix.Rerank(f.enc, queries, all)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(full, rr) {
		t.Fatal("exhaustive search and reranking every document differ")
	}
	// The top 10 are the 10 best of the full ranking, with the same scores; and the scores are the
	// encoder's MaxSim.
	top, err := f.ix.SearchExhaustive(f.enc, queries, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		if len(top[q.ID]) != 10 {
			t.Fatalf("query %s: %d results, want 10", q.ID, len(top[q.ID]))
		}
		ranked := rankedIDs(full[q.ID])
		for _, did := range ranked[:10] {
			if s, ok := top[q.ID][did]; !ok || s != full[q.ID][did] {
				t.Fatalf("query %s: top 10 lacks %s or scores it %v (full %v)", q.ID, did, s, full[q.ID][did])
			}
		}
	}
	texts := score.Texts(f.docs)
	scores, err := f.enc.Score([]string{queries[0].Text, queries[0].Text}, []string{texts[f.docs[3].ID], texts[f.docs[7].ID]})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []string{f.docs[3].ID, f.docs[7].ID} {
		if math.Abs(scores[i]-full["a"][d]) > 1e-5 {
			t.Errorf("document %s: index %v, encoder %v", d, full["a"][d], scores[i])
		}
	}
	if _, err := f.ix.Rerank(f.enc, queries[:1], map[string][]string{"a": {"nope"}}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown candidate: %v", err)
	}
}

// rankedIDs returns a query's documents by decreasing score (ties by id).
func rankedIDs(docs map[string]float64) []string {
	entries, _ := datasets.RankRun(map[string]map[string]float64{"q": docs}, "t", 0)
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.DocID
	}
	return out
}

func TestExportAndLoadColBERTEncoder(t *testing.T) {
	f := getColbertIndexFixture(t)
	dir := t.TempDir()
	if err := Export(dir, f.enc); err != nil {
		t.Fatal(err)
	}
	enc, err := Load(dir, f.enc.Backend)
	if err != nil {
		t.Fatal(err)
	}
	if enc.QueryLen != 16 || enc.DocLen != 48 || enc.Dim() != 16 {
		t.Fatalf("loaded encoder: query %d, doc %d, dim %d", enc.QueryLen, enc.DocLen, enc.Dim())
	}
	a, err := f.enc.EncodeQueries([]string{"what does the vole eat"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := enc.EncodeQueries([]string{"what does the vole eat"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("the exported model encodes differently")
	}
	os.WriteFile(filepath.Join(dir, SettingsFile), []byte(`{"query_len": 2}`), 0o644)
	if _, err := Load(dir, f.enc.Backend); err == nil || !strings.Contains(err.Error(), SettingsFile) {
		t.Errorf("bad settings: %v", err)
	}
	if _, err := Load(t.TempDir(), f.enc.Backend); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("empty folder: %v", err)
	}
}
