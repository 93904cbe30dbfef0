package models

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/mimicry-ir/mimicry/internal/files"
	"github.com/mimicry-ir/mimicry/models/safetensors"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Files of a Hugging Face model folder.
const (
	// ConfigFile is the model's configuration (HF config.json).
	ConfigFile = "config.json"
	// WeightsFile holds the parameters under their HF names (safetensors).
	WeightsFile = "model.safetensors"
	// MimicryFile records what HF's config cannot: the model kind and the ColBERT dimension.
	MimicryFile = "mimicry.json"
	// pylateDenseWeights is where PyLate / sentence-transformers keep ColBERT's projection.
	pylateDenseWeights = "1_Dense/model.safetensors"
)

// mimicryInfo is the content of MimicryFile.
type mimicryInfo struct {
	Kind       Kind    `json:"kind"`
	ColBERTDim int     `json:"colbert_dim,omitempty"`
	Pooling    Pooling `json:"pooling,omitempty"`
	Normalize  bool    `json:"normalize,omitempty"`
}

// ExportHF writes the model as a Hugging Face folder: config.json (with the head's architecture),
// model.safetensors (HF parameter names, Linear weights [out, in] as torch stores them; SPLADE's
// decoder is tied to the word embeddings and not stored twice, as transformers does) and
// mimicry.json, and the tokenizer's files (tokenizer.json, vocab.txt, tokenizer_config.json) when tk
// can save itself (tokenizer.WordPiece can; nil skips it). backend materialises parameters that have
// no value yet. Each file is written atomically.
func ExportHF(dir string, m *Model, backend backends.Backend, tk tokenizer.Tokenizer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := m.Materialize(backend); err != nil {
		return fmt.Errorf("materialising parameters: %w", err)
	}
	params, err := m.Params()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	slices.Sort(names)
	list := make([]*safetensors.Tensor, 0, len(names))
	for _, n := range names {
		st, err := toSafetensor(n, params[n])
		if err != nil {
			return err
		}
		list = append(list, st)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), list, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	cfg := *m.Config
	cfg.Architectures = []string{m.Kind.Architecture()}
	if m.Kind == KindCrossEncoder {
		cfg.NumLabels = max(cfg.NumLabels, 1)
	}
	if err := cfg.Save(filepath.Join(dir, ConfigFile)); err != nil {
		return err
	}
	if tk != nil {
		saver, ok := tk.(interface{ Save(dir string) error })
		if !ok {
			return fmt.Errorf("export: tokenizer %T cannot save itself", tk)
		}
		if err := saver.Save(dir); err != nil {
			return fmt.Errorf("export: tokenizer: %w", err)
		}
		if tk.VocabSize() != m.Config.VocabSize {
			return fmt.Errorf("export: tokenizer has %d tokens, the model's vocab_size is %d", tk.VocabSize(), m.Config.VocabSize)
		}
	}
	info, _ := json.MarshalIndent(m.info(), "", "  ")
	return files.WriteBytes(filepath.Join(dir, MimicryFile), append(info, '\n'), 0o644)
}

// info is the model's mimicry.json.
func (m *Model) info() mimicryInfo {
	info := mimicryInfo{Kind: m.Kind, ColBERTDim: m.ColBERTDim}
	if m.Kind == KindBiEncoder {
		info.Pooling, info.Normalize = m.Pooling, m.Normalize
	}
	return info
}

// LoadHFTokenizer reads the tokenizer of a Hugging Face model folder (tokenizer.json, or vocab.txt
// with tokenizer_config.json). dir may also be a hub id ([ResolveDir]) or a sentence-transformers
// folder whose Transformer module sits in a subfolder.
func LoadHFTokenizer(dir string) (*tokenizer.WordPiece, error) {
	dir, err := ResolveDir(dir)
	if err != nil {
		return nil, err
	}
	if st, err := readSTFolder(dir); err == nil && st != nil {
		dir = st.transformerDir
	}
	return tokenizer.LoadFile(dir)
}

// ImportReport says what an import did not match one to one.
type ImportReport struct {
	// Missing lists parameters the model needs that the checkpoint lacks; they keep their fresh
	// initialisation (normal when putting a new head on a pretrained encoder).
	Missing []string
	// Unused lists checkpoint tensors the model has no place for (e.g. a pre-training head).
	Unused []string
}

// ImportHF reads a Hugging Face model folder — one written by ExportHF, or by transformers
// (BertModel, BertForSequenceClassification, BertForMaskedLM), a Stanford ColBERT checkpoint
// (BertModel + `linear.weight`), a PyLate one (modules.json with a Dense projection in 1_Dense/,
// its [Q]/[D] prefixes and lengths in config_sentence_transformers.json) or a sentence-transformers
// one (modules.json: a bi-encoder pooled as 1_Pooling/config.json says, normalised when a Normalize
// module follows) — as a model of the given kind. dir may be a hub id "org/name[@revision]"
// ([ResolveDir]). kind "" takes the kind from mimicry.json, else from the sentence-transformers
// modules, else from config.json's architectures.
//
// Names are normalised the ways real checkpoints differ: a missing `bert.` prefix (plain
// BertModel), TF-era `gamma`/`beta` for LayerNorm, the tied `cls.predictions.decoder.*`, and the
// `position_ids` buffer. Weights in F16/BF16/F64 are converted to the model's dtype. A malformed
// file gives an error naming the file and the field or tensor.
func ImportHF(dir string, kind Kind, seed int64) (*Model, *ImportReport, error) {
	dir, err := ResolveDir(dir)
	if err != nil {
		return nil, nil, err
	}
	st, err := readSTFolder(dir)
	if err != nil {
		return nil, nil, err
	}
	tdir, denseDir := dir, ""
	if st != nil {
		tdir, denseDir = st.transformerDir, st.denseDir
	}
	cfg, err := LoadConfig(filepath.Join(tdir, ConfigFile))
	if err != nil {
		return nil, nil, err
	}
	for _, a := range cfg.Architectures {
		if l := strings.ToLower(a); !strings.Contains(l, "bert") {
			return nil, nil, fmt.Errorf("%s: field \"architectures\": %q is not a BERT architecture (Mimicry reads BERT encoders: BertModel, BertForSequenceClassification, BertForMaskedLM, ColBERT)",
				filepath.Join(tdir, ConfigFile), a)
		}
	}
	var info mimicryInfo
	if data, err := os.ReadFile(filepath.Join(dir, MimicryFile)); err == nil {
		if err := json.Unmarshal(data, &info); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, MimicryFile), err)
		}
		if _, err := ParseKind(string(info.Kind)); err != nil {
			return nil, nil, fmt.Errorf("%s: field \"kind\": %w", filepath.Join(dir, MimicryFile), err)
		}
	}
	tensorsByName, err := readCheckpointTensors(tdir, denseDir)
	if err != nil {
		return nil, nil, err
	}
	if kind == "" {
		kind = info.Kind
	}
	if kind == "" && st != nil {
		switch {
		case st.splade:
			kind = KindSPLADE
		case st.denseDir != "":
			kind = KindColBERT
		case st.pooling != "":
			kind = KindBiEncoder
		}
	}
	if kind == "" {
		kind = kindFromArchitectures(cfg.Architectures, tensorsByName)
	}
	colbertDim := info.ColBERTDim
	if lw, ok := tensorsByName["linear.weight"]; ok && len(lw.Shape) == 2 {
		colbertDim = lw.Shape[0]
	}
	m, err := New(kind, cfg, colbertDim, seed)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(tdir, ConfigFile), err)
	}
	m.Pooling, m.Normalize = info.Pooling, info.Normalize
	if st != nil {
		if st.pooling != "" {
			m.Pooling, m.Normalize = st.pooling, st.normalize
		}
		m.MaxSeqLength = st.maxSeqLength
		if st.denseDir != "" {
			m.ColBERTText = &ColBERTText{QueryPrefix: st.queryPrefix, DocumentPrefix: st.documentPrefix,
				QueryLength: st.queryLength, DocumentLength: st.documentLength, AttendExpansion: st.attendExpansion}
			if st.documentLength > 0 {
				m.MaxSeqLength = st.documentLength
			}
		}
	}
	want := ParamShapes(cfg, kind, m.ColBERTDim)
	report := &ImportReport{}
	for _, name := range sortedNames(want) {
		st, ok := tensorsByName[name]
		if !ok {
			report.Missing = append(report.Missing, name)
			continue
		}
		delete(tensorsByName, name)
		if !slices.Equal(st.Shape, want[name]) {
			return nil, nil, fmt.Errorf("%s: tensor %q has shape %v, config.json implies %v", st.source, name, st.Shape, want[name])
		}
		t, err := fromSafetensor(st, cfg.DTypeOf())
		if err != nil {
			return nil, nil, err
		}
		if err := m.SetParam(name, t); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", st.source, err)
		}
	}
	for name := range tensorsByName {
		report.Unused = append(report.Unused, name)
	}
	slices.Sort(report.Unused)
	m.Fresh = slices.Clone(report.Missing)
	return m, report, nil
}

// sourcedTensor is a checkpoint tensor with the file it came from.
type sourcedTensor struct {
	*safetensors.Tensor
	source string
}

// readCheckpointTensors reads model.safetensors (and the Dense projection's, PyLate's 1_Dense,
// when denseDir is set or dir has 1_Dense) with names normalised.
func readCheckpointTensors(dir, denseDir string) (map[string]sourcedTensor, error) {
	path := filepath.Join(dir, WeightsFile)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, binErr := os.Stat(filepath.Join(dir, "pytorch_model.bin")); binErr == nil {
				return nil, fmt.Errorf("%s: only safetensors weights are supported; convert pytorch_model.bin first "+
					"(transformers: model.save_pretrained(dir, safe_serialization=True))", dir)
			}
		}
		return nil, err
	}
	out := make(map[string]sourcedTensor)
	for _, t := range f.Tensors() {
		name, keep := normaliseName(t.Name)
		if !keep {
			continue
		}
		if prev, dup := out[name]; dup {
			return nil, fmt.Errorf("%s: tensors %q and %q both map to %q", path, prev.Name, t.Name, name)
		}
		out[name] = sourcedTensor{t, path}
	}
	// The tied decoder bias stands in for cls.predictions.bias when only it was saved.
	if dec, ok := out["cls.predictions.decoder.bias"]; ok {
		if _, has := out["cls.predictions.bias"]; !has {
			out["cls.predictions.bias"] = dec
		}
		delete(out, "cls.predictions.decoder.bias")
	}
	densePath := filepath.Join(dir, pylateDenseWeights)
	if denseDir != "" {
		densePath = filepath.Join(denseDir, WeightsFile)
	}
	if _, err := os.Stat(densePath); err == nil {
		df, err := safetensors.ReadFile(densePath)
		if err != nil {
			return nil, err
		}
		t, ok := df.Get("linear.weight")
		if !ok {
			return nil, fmt.Errorf("%s: no tensor \"linear.weight\" (the projection's weights)", densePath)
		}
		out["linear.weight"] = sourcedTensor{t, densePath}
	}
	return out, nil
}

// normaliseName maps the spellings real checkpoints use to this package's names; keep is false for
// tensors that are not parameters (buffers, tied copies).
func normaliseName(name string) (string, bool) {
	switch {
	case strings.HasSuffix(name, "position_ids"), name == "cls.predictions.decoder.weight":
		return "", false
	}
	for _, top := range []string{"embeddings.", "encoder.", "pooler."} {
		if strings.HasPrefix(name, top) {
			name = "bert." + name
			break
		}
	}
	if strings.Contains(name, "LayerNorm.") {
		name = strings.Replace(name, "LayerNorm.gamma", "LayerNorm.weight", 1)
		name = strings.Replace(name, "LayerNorm.beta", "LayerNorm.bias", 1)
	}
	return name, true
}

// kindFromArchitectures guesses the head from config.json and the tensors present.
func kindFromArchitectures(archs []string, tensorsByName map[string]sourcedTensor) Kind {
	for _, a := range archs {
		switch {
		case strings.HasSuffix(a, "ForSequenceClassification"):
			return KindCrossEncoder
		case strings.HasSuffix(a, "ForMaskedLM"), strings.HasSuffix(a, "ForPreTraining"):
			return KindSPLADE
		case strings.Contains(strings.ToLower(a), "colbert"):
			return KindColBERT
		}
	}
	if _, ok := tensorsByName["linear.weight"]; ok {
		return KindColBERT
	}
	if _, ok := tensorsByName["classifier.weight"]; ok {
		return KindCrossEncoder
	}
	return KindBiEncoder
}

// toSafetensor encodes a float tensor as F32 or F64 little-endian bytes.
func toSafetensor(name string, t *tensors.Tensor) (*safetensors.Tensor, error) {
	shape := t.Shape().Dimensions
	switch t.DType() {
	case dtypes.Float32:
		return safetensors.NewFloat32(name, shape, tensors.MustCopyFlatData[float32](t)), nil
	case dtypes.Float64:
		values := tensors.MustCopyFlatData[float64](t)
		data := make([]byte, 8*len(values))
		for i, v := range values {
			binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(v))
		}
		return &safetensors.Tensor{Name: name, DType: safetensors.F64, Shape: slices.Clone(shape), Data: data}, nil
	}
	return nil, fmt.Errorf("parameter %q: dtype %s cannot be exported", name, t.DType())
}

// fromSafetensor decodes a checkpoint tensor into the model's dtype.
func fromSafetensor(st sourcedTensor, dtype dtypes.DType) (*tensors.Tensor, error) {
	shape := slices.Clone(st.Shape)
	if dtype == dtypes.Float64 && st.DType == safetensors.F64 {
		values := make([]float64, st.NumElements())
		for i := range values {
			values[i] = math.Float64frombits(binary.LittleEndian.Uint64(st.Data[8*i:]))
			if math.IsNaN(values[i]) || math.IsInf(values[i], 0) {
				return nil, nonFinite(st, i, values[i])
			}
		}
		return tensors.FromFlatDataAndDimensions(values, shape...), nil
	}
	values, err := st.Float32s()
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", st.source, st.Name, err)
	}
	for i, v := range values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nonFinite(st, i, float64(v))
		}
	}
	if dtype == dtypes.Float64 {
		wide := make([]float64, len(values))
		for i, v := range values {
			wide[i] = float64(v)
		}
		return tensors.FromFlatDataAndDimensions(wide, shape...), nil
	}
	return tensors.FromFlatDataAndDimensions(values, shape...), nil
}

// nonFinite is the error of a checkpoint tensor holding NaN or ±Inf at element i.
func nonFinite(st sourcedTensor, i int, v float64) error {
	return fmt.Errorf("%s: tensor %q: element %d is %v: the checkpoint is corrupt (or was saved after training diverged)", st.source, st.Name, i, v)
}
