package models

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/models/safetensors"
)

var allKinds = []Kind{KindCrossEncoder, KindColBERT, KindSPLADE, KindBiEncoder}

// headOutput builds the kind's head on ctx and returns its output for the test batch.
func headOutput(ctx *context.Context, cfg *Config, kind Kind, colbertDim int, ids, types, mask *Node) *Node {
	switch kind {
	case KindCrossEncoder:
		return CrossEncoderLogits(ctx, cfg, ids, types, mask)
	case KindColBERT:
		return ColBERTEmbeddings(ctx, cfg, colbertDim, ids, mask)
	case KindSPLADE:
		return SpladeVectors(ctx, cfg, ids, types, mask)
	default:
		return MeanPooled(ctx, cfg, ids, mask)
	}
}

func runHead(t *testing.T, m *Model) []float64 {
	t.Helper()
	ids, types, mask := testBatch()
	exec, err := context.NewExec(testBackend(t), m.Ctx, func(ctx *context.Context, ids, types, mask *Node) *Node {
		return headOutput(ctx.In(ModelScope), m.Config, m.Kind, m.ColBERTDim, ids, types, mask)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(ids, types, mask)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](out[0])
}

// TestParamShapesMatchGraph keeps ParamShapes in step with the variables the graph functions create.
func TestParamShapesMatchGraph(t *testing.T) {
	cfg := tinyTestConfig()
	for _, kind := range allKinds {
		ctx := context.New().Checked(false)
		ids, types, mask := testBatch()
		exec, err := context.NewExec(testBackend(t), ctx, func(ctx *context.Context, ids, types, mask *Node) *Node {
			return headOutput(ctx.In(ModelScope), cfg, kind, 4, ids, types, mask)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := exec.Exec(ids, types, mask); err != nil {
			t.Fatal(err)
		}
		got := map[string][]int{}
		for v := range ctx.IterVariables() {
			if strings.HasPrefix(v.Scope(), "/"+ModelScope) {
				got[ParamName(v)] = v.Shape().Dimensions
			}
		}
		want := ParamShapes(cfg, kind, 4)
		if len(got) != len(want) {
			t.Errorf("%s: graph has %d parameters, ParamShapes lists %d:\n graph %v\n list %v", kind, len(got), len(want), sortedNames(got), sortedNames(want))
		}
		for name, shape := range want {
			if !slices.Equal(got[name], shape) {
				t.Errorf("%s: %s: graph shape %v, ParamShapes %v", kind, name, got[name], shape)
			}
		}
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	for _, kind := range allKinds {
		t.Run(string(kind), func(t *testing.T) {
			m, err := New(kind, tinyTestConfig(), 4, 42)
			if err != nil {
				t.Fatal(err)
			}
			before := runHead(t, m)
			dir := t.TempDir()
			if err := ExportHF(dir, m, testBackend(t), nil); err != nil {
				t.Fatal(err)
			}
			m2, report, err := ImportHF(dir, "", 1)
			if err != nil {
				t.Fatal(err)
			}
			if m2.Kind != kind {
				t.Fatalf("imported kind %s, exported %s", m2.Kind, kind)
			}
			if len(report.Missing) > 0 || len(report.Unused) > 0 {
				t.Fatalf("round trip not one to one: %+v", report)
			}
			p1, _ := m.Params()
			p2, err := m2.Params()
			if err != nil {
				t.Fatal(err)
			}
			for name, v := range p1 {
				a, b := tensors.MustCopyFlatData[float64](v), tensors.MustCopyFlatData[float64](p2[name])
				if !slices.Equal(a, b) {
					t.Fatalf("%s differs after the round trip", name)
				}
			}
			if after := runHead(t, m2); !slices.Equal(before, after) {
				t.Fatalf("outputs differ after the round trip")
			}
			// Exporting the imported model gives the same bytes.
			dir2 := t.TempDir()
			if err := ExportHF(dir2, m2, testBackend(t), nil); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{WeightsFile, ConfigFile, MimicryFile} {
				a, _ := os.ReadFile(filepath.Join(dir, f))
				b, _ := os.ReadFile(filepath.Join(dir2, f))
				if !bytes.Equal(a, b) {
					t.Errorf("%s differs between export and re-export", f)
				}
			}
		})
	}
}

// TestImportTransformersLayout reads a folder laid out as transformers and PyLate write them: a plain
// BertModel without the "bert." prefix, TF-era gamma/beta names, a position_ids buffer, F16 weights,
// and ColBERT's projection in 1_Dense.
func TestImportTransformersLayout(t *testing.T) {
	cfg := tinyTestConfig()
	cfg.DType = "float32"
	src, err := New(KindColBERT, cfg, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Materialize(testBackend(t)); err != nil {
		t.Fatal(err)
	}
	params, _ := src.Params()
	dir := t.TempDir()
	var list []*safetensors.Tensor
	var linear *safetensors.Tensor
	for name, v := range params {
		values := tensors.MustCopyFlatData[float32](v)
		if name == "linear.weight" {
			linear = safetensors.NewFloat32(name, v.Shape().Dimensions, values)
			continue
		}
		name = strings.TrimPrefix(name, "bert.")
		name = strings.Replace(name, "LayerNorm.weight", "LayerNorm.gamma", 1)
		name = strings.Replace(name, "LayerNorm.bias", "LayerNorm.beta", 1)
		list = append(list, safetensors.NewFloat32(name, v.Shape().Dimensions, values))
	}
	list = append(list, safetensors.NewInt64("embeddings.position_ids", []int{1, 16}, make([]int64, 16)))
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), list, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "1_Dense"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, pylateDenseWeights), []*safetensors.Tensor{linear}, nil); err != nil {
		t.Fatal(err)
	}
	c := *cfg
	c.Architectures = []string{"BertModel"}
	if err := c.Save(filepath.Join(dir, ConfigFile)); err != nil {
		t.Fatal(err)
	}
	m, report, err := ImportHF(dir, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != KindColBERT || m.ColBERTDim != 4 {
		t.Fatalf("got kind %s dim %d, want colbert dim 4", m.Kind, m.ColBERTDim)
	}
	if len(report.Missing)+len(report.Unused) != 0 {
		t.Fatalf("unexpected report %+v", report)
	}
	got, _ := m.Params()
	for name, v := range params {
		if !slices.Equal(tensors.MustCopyFlatData[float32](v), tensors.MustCopyFlatData[float32](got[name])) {
			t.Fatalf("%s differs", name)
		}
	}
	// A cross-encoder initialised from the same encoder gets a fresh head and says so.
	ce, report, err := ImportHF(dir, KindCrossEncoder, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ce.Kind != KindCrossEncoder || !slices.Contains(report.Missing, "classifier.weight") || !slices.Contains(report.Unused, "linear.weight") {
		t.Fatalf("cross-encoder from a ColBERT checkpoint: report %+v", report)
	}
}

func TestImportErrorsNameFileAndField(t *testing.T) {
	m, err := New(KindCrossEncoder, tinyTestConfig(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	good := t.TempDir()
	if err := ExportHF(good, m, testBackend(t), nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mutate func(dir string)
		want   []string
	}{
		{"config not JSON", func(dir string) { writeFile(t, dir, ConfigFile, "{\n \"hidden_size\": 8,\n oops\n}") }, []string{ConfigFile + ":3", "invalid JSON"}},
		{"config field type", func(dir string) { writeFile(t, dir, ConfigFile, `{"hidden_size": "eight"}`) }, []string{ConfigFile, `"hidden_size"`}},
		{"config field value", func(dir string) {
			c := *m.Config
			c.NumAttentionHeads = 3
			if err := c.Save(filepath.Join(dir, ConfigFile)); err != nil {
				t.Fatal(err)
			}
		}, []string{ConfigFile, `"hidden_size"`, `"num_attention_heads"`}},
		{"config shape disagrees", func(dir string) {
			c := *m.Config
			c.IntermediateSize = 32
			if err := c.Save(filepath.Join(dir, ConfigFile)); err != nil {
				t.Fatal(err)
			}
		}, []string{WeightsFile, "intermediate.dense"}},
		{"weights truncated", func(dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, WeightsFile))
			writeFile(t, dir, WeightsFile, string(data[:len(data)/2]))
		}, []string{WeightsFile}},
		{"weights missing", func(dir string) { os.Remove(filepath.Join(dir, WeightsFile)) }, []string{WeightsFile}},
		{"mimicry.json kind", func(dir string) { writeFile(t, dir, MimicryFile, `{"kind":"gpt"}`) }, []string{MimicryFile, `"kind"`}},
		{"NaN weights", func(dir string) {
			rewriteTensor(t, dir, "bert.encoder.layer.0.output.dense.weight", func(st *safetensors.Tensor) {
				if st.DType == "F64" {
					binary.LittleEndian.PutUint64(st.Data[8*5:], math.Float64bits(math.NaN()))
				} else {
					binary.LittleEndian.PutUint32(st.Data[4*5:], math.Float32bits(float32(math.NaN())))
				}
			})
		}, []string{WeightsFile, `"bert.encoder.layer.0.output.dense.weight"`, "element 5", "NaN"}},
		{"wrong dtype", func(dir string) {
			rewriteTensor(t, dir, "classifier.bias", func(st *safetensors.Tensor) {
				*st = *safetensors.NewInt64(st.Name, st.Shape, make([]int64, st.NumElements()))
			})
		}, []string{WeightsFile, "classifier.bias", "I64"}},
		{"vocabulary and embeddings disagree", func(dir string) {
			c := *m.Config
			c.VocabSize++
			if err := c.Save(filepath.Join(dir, ConfigFile)); err != nil {
				t.Fatal(err)
			}
		}, []string{WeightsFile, "bert.embeddings.word_embeddings.weight"}},
		{"unknown architecture", func(dir string) {
			c := *m.Config
			c.Architectures = []string{"GPT2LMHeadModel"}
			if err := c.Save(filepath.Join(dir, ConfigFile)); err != nil {
				t.Fatal(err)
			}
		}, []string{ConfigFile, `"architectures"`, "GPT2LMHeadModel"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{ConfigFile, WeightsFile, MimicryFile} {
				data, _ := os.ReadFile(filepath.Join(good, f))
				writeFile(t, dir, f, string(data))
			}
			tc.mutate(dir)
			_, _, err := ImportHF(dir, "", 1)
			if err == nil {
				t.Fatal("import succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExportImportKeepsMarkExactMatches: a cross-encoder trained on marked pairs must be read back
// as one, or its scorers would feed it unmarked pairs.
func TestExportImportKeepsMarkExactMatches(t *testing.T) {
	cfg := tinyTestConfig()
	cfg.MarkExactMatches = true
	m, err := New(KindCrossEncoder, cfg, 0, 42)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ExportHF(dir, m, testBackend(t), nil); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, ConfigFile)); !bytes.Contains(data, []byte(`"mimicry_mark_exact_matches": true`)) {
		t.Errorf("config.json lacks the marking flag:\n%s", data)
	}
	m2, _, err := ImportHF(dir, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !m2.Config.MarkExactMatches {
		t.Error("the imported model lost MarkExactMatches")
	}
}

// rewriteTensor rewrites one tensor of dir's model.safetensors with edit.
func rewriteTensor(t *testing.T, dir, name string, edit func(*safetensors.Tensor)) {
	t.Helper()
	path := filepath.Join(dir, WeightsFile)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	var out []*safetensors.Tensor
	for _, st := range f.Tensors() {
		c := *st
		c.Data = slices.Clone(st.Data)
		if c.Name == name {
			edit(&c)
			found = true
		}
		out = append(out, &c)
	}
	if !found {
		t.Fatalf("%s has no tensor %q", path, name)
	}
	if err := safetensors.WriteFile(path, out, f.Metadata); err != nil {
		t.Fatal(err)
	}
}
