package models

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/mimicry-ir/mimicry/models/hub"
)

// tinyBERT is a BertForMaskedLM folder saved by transformers (see models/parity/make_fixtures.py).
var tinyBERT = filepath.Join("parity", "testdata", "tiny-mlm")

// makeSTFolder copies tiny-mlm's files into a temporary folder and adds the given files (path → content).
func makeSTFolder(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join(tinyBERT, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	modulesPoolNorm = `[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
 {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
 {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]`
	modulesPool = `[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
 {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]`
	poolCLS = `{"word_embedding_dimension":32,"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":false}`
)

func TestImportSentenceTransformersFolder(t *testing.T) {
	for _, c := range []struct {
		name      string
		files     map[string]string
		pooling   Pooling
		normalize bool
		maxLen    int
	}{
		{"cls, no Normalize", map[string]string{"modules.json": modulesPool, "1_Pooling/config.json": poolCLS}, PoolCLS, false, 0},
		{"mean + Normalize (no 2_Normalize folder, as on the hub)", map[string]string{"modules.json": modulesPoolNorm,
			"1_Pooling/config.json": `{"pooling_mode_mean_tokens":true}`, "sentence_bert_config.json": `{"max_seq_length":48}`}, PoolMean, true, 48},
		{"newer single pooling_mode field", map[string]string{"modules.json": modulesPool,
			"1_Pooling/config.json": `{"pooling_mode":"max"}`}, PoolMax, false, 0},
	} {
		dir := makeSTFolder(t, c.files)
		m, _, err := ImportHF(dir, "", 0)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if m.Kind != KindBiEncoder || m.Pooling != c.pooling || m.Normalize != c.normalize || m.MaxSeqLength != c.maxLen {
			t.Errorf("%s: kind %s pooling %q normalize %v max %d; want bi-encoder %q %v %d", c.name, m.Kind, m.Pooling, m.Normalize,
				m.MaxSeqLength, c.pooling, c.normalize, c.maxLen)
		}
	}
}

func TestImportSentenceTransformersErrors(t *testing.T) {
	transformer := `{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"}`
	dense := `{"idx":1,"name":"1","path":"1_Dense","type":"pylate.models.Dense.Dense"}`
	for _, c := range []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{"unknown module", map[string]string{"modules.json": `[` + transformer + `,{"idx":1,"path":"1_X","type":"sentence_transformers.models.LayerNorm"}]`},
			[]string{"modules.json", `"type"`, "sentence_transformers.models.LayerNorm"}},
		{"two poolings at once", map[string]string{"modules.json": modulesPool,
			"1_Pooling/config.json": `{"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":true}`},
			[]string{"1_Pooling/config.json", "pooling_mode_cls_token", "pooling_mode_mean_tokens", "concatenated"}},
		{"no pooling", map[string]string{"modules.json": modulesPool, "1_Pooling/config.json": `{"pooling_mode_cls_token":false}`},
			[]string{"1_Pooling/config.json", "no pooling_mode"}},
		{"weighted mean", map[string]string{"modules.json": modulesPool, "1_Pooling/config.json": `{"pooling_mode_weightedmean_tokens":true}`},
			[]string{"1_Pooling/config.json", "pooling_mode_weightedmean_tokens"}},
		{"pooling config missing", map[string]string{"modules.json": modulesPool}, []string{"1_Pooling/config.json"}},
		{"dense with bias", map[string]string{"modules.json": `[` + transformer + `,` + dense + `]`,
			"1_Dense/config.json": `{"in_features":32,"out_features":8,"bias":true}`}, []string{"1_Dense/config.json", `"bias"`}},
		{"dense with activation", map[string]string{"modules.json": `[` + transformer + `,` + dense + `]`,
			"1_Dense/config.json": `{"in_features":32,"out_features":8,"bias":false,"activation_function":"torch.nn.modules.activation.Tanh"}`},
			[]string{"1_Dense/config.json", "activation_function", "Tanh"}},
		{"dense as a pickle", map[string]string{"modules.json": `[` + transformer + `,` + dense + `]`,
			"1_Dense/config.json": `{"in_features":32,"out_features":8,"bias":false}`, "1_Dense/pytorch_model.bin": "PK"},
			[]string{"1_Dense", "pytorch_model.bin", "safetensors"}},
		{"modules.json not JSON", map[string]string{"modules.json": `[{`}, []string{"modules.json"}},
		{"module outside the folder", map[string]string{"modules.json": `[{"idx":0,"path":"../x","type":"sentence_transformers.models.Transformer"}]`},
			[]string{"modules.json", "../x"}},
	} {
		dir := makeSTFolder(t, c.files)
		_, _, err := ImportHF(dir, "", 0)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(filepath.ToSlash(err.Error()), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

func TestBiEncoderPoolingRoundTrip(t *testing.T) {
	dir := makeSTFolder(t, map[string]string{"modules.json": modulesPool, "1_Pooling/config.json": poolCLS})
	m, _, err := ImportHF(dir, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	m.Normalize = true
	out := t.TempDir()
	if err := ExportHF(out, m, testBackend(t), nil); err != nil {
		t.Fatal(err)
	}
	back, _, err := ImportHF(out, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if back.Kind != KindBiEncoder || back.Pooling != PoolCLS || !back.Normalize {
		t.Errorf("after ExportHF: %s %q %v, want bi-encoder cls normalised", back.Kind, back.Pooling, back.Normalize)
	}
}

// TestImportHFByHubID: a hub id resolves through the Hugging Face cache (offline here), for the
// weights and the tokenizer; an id that is neither a folder nor cached gives an error naming it.
func TestImportHFByHubID(t *testing.T) {
	cache := t.TempDir()
	const commit = "00112233445566778899aabbccddeeff00112233"
	snap := filepath.Join(cache, "models--org--tiny-mlm", "snapshots", commit)
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config.json", "model.safetensors", "tokenizer.json"} {
		abs, _ := filepath.Abs(filepath.Join(tinyBERT, name))
		if err := os.Symlink(abs, filepath.Join(snap, name)); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(cache, "models--org--tiny-mlm", "refs"), 0o755)
	os.WriteFile(filepath.Join(cache, "models--org--tiny-mlm", "refs", "main"), []byte(commit), 0o644)
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "1")
	m, _, err := ImportHF("org/tiny-mlm", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != KindSPLADE {
		t.Errorf("kind %s", m.Kind)
	}
	tk, err := LoadHFTokenizer("org/tiny-mlm@" + commit)
	if err != nil || tk.VocabSize() != m.Config.VocabSize {
		t.Fatalf("tokenizer by id@commit: %v", err)
	}
	_, _, err = ImportHF("org/absent", "", 0)
	if !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), "org/absent") {
		t.Errorf("absent id: %v", err)
	}
}

// TestPoolTokens checks each pooling on a hand-made batch: row 0 has 2 real tokens of 3, row 1 all 3.
func TestPoolTokens(t *testing.T) {
	hidden := [][][]float32{
		{{1, -2}, {3, 4}, {100, 100}}, // the padding token must not count
		{{-1, 0}, {2, 2}, {5, -6}},
	}
	mask := [][]int32{{1, 1, 0}, {1, 1, 1}}
	want := map[Pooling][][]float32{
		PoolCLS:         {{1, -2}, {-1, 0}},
		PoolMean:        {{2, 1}, {2, -4.0 / 3}},
		PoolMax:         {{3, 4}, {5, 2}},
		PoolMeanSqrtLen: {{4 / float32(math.Sqrt(2)), 2 / float32(math.Sqrt(2))}, {6 / float32(math.Sqrt(3)), -4 / float32(math.Sqrt(3))}},
	}
	for pooling, w := range want {
		got, err := ExecOnce(testBackend(t), func(h, m *Node) *Node { return PoolTokens(h, m, pooling) }, hidden, mask)
		if err != nil {
			t.Fatal(err)
		}
		g := got.Value().([][]float32)
		for i := range w {
			for j := range w[i] {
				if math.Abs(float64(g[i][j]-w[i][j])) > 1e-6 {
					t.Errorf("%s: row %d = %v, want %v", pooling, i, g[i], w[i])
					break
				}
			}
		}
	}
}
