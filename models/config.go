package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/mimicry-ir/mimicry/internal/files"
)

// Config is a BERT encoder's configuration. Its JSON form is Hugging Face's `config.json` (the fields
// that BertModel reads), so a config written by `transformers` loads here and vice versa.
type Config struct {
	// Architectures names the HF model class, e.g. "BertForSequenceClassification" (written on export).
	Architectures []string `json:"architectures,omitempty"`
	// ModelType is "bert".
	ModelType string `json:"model_type"`
	// VocabSize is the number of rows of the word-embedding table.
	VocabSize int `json:"vocab_size"`
	// HiddenSize is the width H of every layer.
	HiddenSize int `json:"hidden_size"`
	// NumHiddenLayers is the number of transformer layers.
	NumHiddenLayers int `json:"num_hidden_layers"`
	// NumAttentionHeads splits H into heads; H must be a multiple of it.
	NumAttentionHeads int `json:"num_attention_heads"`
	// IntermediateSize is the width of the feed-forward block.
	IntermediateSize int `json:"intermediate_size"`
	// HiddenAct is the feed-forward activation: "gelu" (exact, erf-based, BERT's) or "gelu_new"/"gelu_pytorch_tanh" (tanh approximation) or "relu".
	HiddenAct string `json:"hidden_act"`
	// HiddenDropoutProb is the dropout applied to embeddings and to each sub-layer's output while training.
	HiddenDropoutProb float64 `json:"hidden_dropout_prob"`
	// AttentionProbsDropoutProb is the dropout applied to attention probabilities while training.
	AttentionProbsDropoutProb float64 `json:"attention_probs_dropout_prob"`
	// MaxPositionEmbeddings is the longest sequence the position table covers.
	MaxPositionEmbeddings int `json:"max_position_embeddings"`
	// TypeVocabSize is the number of token types (segments), 2 in BERT.
	TypeVocabSize int `json:"type_vocab_size"`
	// InitializerRange is the standard deviation of the truncated-normal initialisation of new weights.
	InitializerRange float64 `json:"initializer_range"`
	// LayerNormEps is the epsilon of every LayerNorm.
	LayerNormEps float64 `json:"layer_norm_eps"`
	// PadTokenID is the id of [PAD].
	PadTokenID int `json:"pad_token_id"`
	// NumLabels is the number of outputs of a sequence-classification head (1 for a cross-encoder).
	NumLabels int `json:"num_labels,omitempty"`
	// ID2Label names the classifier's outputs; transformers derives num_labels from it.
	ID2Label map[string]string `json:"id2label,omitempty"`
	// Label2ID is the inverse of ID2Label.
	Label2ID map[string]int `json:"label2id,omitempty"`
	// DType is the floating-point type of the weights and activations: "float32" (default) or "float64"
	// (used by gradient checks); "bfloat16" where the backend supports it. Not part of HF's schema
	// except as `torch_dtype`, which is what we write.
	DType string `json:"torch_dtype,omitempty"`
	// MarkExactMatches says that the cross-encoder reads its pairs with the words shared by query and
	// passage marked (teacher.MarkExactMatches, after MarkedBERT): Mimicry's scorers mark them
	// before tokenisation. Not part of HF's schema (transformers keeps it as an attribute and
	// ignores it): outside Mimicry, mark the pairs the same way before scoring.
	MarkExactMatches bool `json:"mimicry_mark_exact_matches,omitempty"`
	// MarkRareDF, with MarkExactMatches, marks shared words whose index term is in fewer than this
	// fraction of the collection's documents with one marker ("[unused0]") and the other shared
	// words with another ("[unused1]"), so the model sees which matches discriminate
	// (teacher.MarkMatches). Mimicry's scorers of such a model need the collection's BM25 index.
	// 0: one marker for every match.
	MarkRareDF float64 `json:"mimicry_mark_rare_df,omitempty"`
	// BM25Weight, when positive, says that the cross-encoder's score of a pair is its logit plus
	// BM25Weight times the pair's BM25 score in the collection being ranked: the network learns a
	// residual on top of lexical matching, as CLEAR does for dense retrieval (Gao et al., "Complement
	// Lexical Retrieval Model with Semantic Residual Embeddings", ECIR 2021). Mimicry's scorers of
	// such a model need the collection's BM25 index (teacher.CrossEncoder.BM25). Not part of HF's
	// schema: outside Mimicry, add the term yourself.
	BM25Weight float64 `json:"mimicry_bm25_weight,omitempty"`
	// DenseWeight, when positive, adds DenseWeight times the cosine similarity of query and passage
	// under the bi-encoder DenseModel (a frozen sentence-transformers checkpoint, typically the one
	// the cross-encoder's body started from) to the score: a second residual, semantic where BM25 is
	// lexical. Mimicry's scorers load DenseModel (teacher.CrossEncoder.Dense). Not part of HF's schema.
	DenseWeight float64 `json:"mimicry_dense_weight,omitempty"`
	DenseModel  string  `json:"mimicry_dense_model,omitempty"`
}

// Preset names a model size: PresetTiny trains on 2 CPU cores, PresetSmall is a mid-size student,
// PresetBase is BERT-base.
const (
	PresetTiny  = "tiny"
	PresetSmall = "small"
	PresetBase  = "base"
)

// NewConfig returns the configuration of a preset ("tiny", "small" or "base") for a vocabulary of
// vocabSize tokens.
//
//	tiny:  H=128, 2 layers, 4 heads, FFN 512  (BERT-tiny-like, fast enough to train on 2 CPU cores)
//	small: H=256, 4 layers, 4 heads, FFN 1024 (BERT-mini/small-like)
//	base:  H=768, 12 layers, 12 heads, FFN 3072 (BERT-base)
func NewConfig(preset string, vocabSize int) (*Config, error) {
	c := &Config{
		ModelType:                 "bert",
		VocabSize:                 vocabSize,
		HiddenAct:                 "gelu",
		HiddenDropoutProb:         0.1,
		AttentionProbsDropoutProb: 0.1,
		MaxPositionEmbeddings:     512,
		TypeVocabSize:             2,
		InitializerRange:          0.02,
		LayerNormEps:              1e-12,
		DType:                     "float32",
	}
	switch preset {
	case PresetTiny:
		c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 128, 2, 4, 512
		c.InitializerRange = fromScratchInit(c.HiddenSize)
	case PresetSmall:
		c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 256, 4, 4, 1024
		c.InitializerRange = fromScratchInit(c.HiddenSize)
	case PresetBase:
		c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 768, 12, 12, 3072
	default:
		return nil, fmt.Errorf("unknown model preset %q: want %q, %q or %q", preset, PresetTiny, PresetSmall, PresetBase)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Resize changes a configuration's width and depth (0 keeps either): hidden size, attention heads
// (scaled with the width, so each keeps its size, and dividing it), FFN size (4× the width), layers,
// and — for a from-scratch configuration, whose initialisation scale is 1/√H — that scale.
func (c *Config) Resize(hidden, layers int) error {
	if hidden < 0 || layers < 0 {
		return fmt.Errorf("model size: hidden size %d and layers %d may not be negative", hidden, layers)
	}
	if hidden > 0 && hidden != c.HiddenSize {
		fromScratch := math.Abs(c.InitializerRange-fromScratchInit(c.HiddenSize)) < 1e-9
		heads := max(1, c.NumAttentionHeads*hidden/c.HiddenSize)
		for hidden%heads != 0 {
			heads--
		}
		c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize = hidden, heads, 4*hidden
		if fromScratch {
			c.InitializerRange = fromScratchInit(hidden)
		}
	}
	if layers > 0 {
		c.NumHiddenLayers = layers
	}
	return c.Validate()
}

// fromScratchInit is the initialisation scale of the presets meant to be trained from scratch (tiny
// and small): LeCun's 1/√H, so that every H×H layer keeps the scale of its input. BERT's 0.02 is
// right for fine-tuning pretrained weights, where only the heads are new, but from scratch it makes
// each layer shrink its input (0.02·√128 ≈ 0.23 for the tiny preset): a cross-encoder's [CLS] score
// then barely depends on the passage, its gradient vanishes, and training sits at ln(1+n) for hundreds
// of steps (TestTrainTeacherLearnsLexicalMatching in distill shows it).
func fromScratchInit(hidden int) float64 { return 1 / math.Sqrt(float64(hidden)) }

// Validate checks that the configuration describes a model this package can build; the error names the
// offending field by its config.json name.
func (c *Config) Validate() error {
	positive := []struct {
		name  string
		value int
	}{
		{"vocab_size", c.VocabSize},
		{"hidden_size", c.HiddenSize},
		{"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads},
		{"intermediate_size", c.IntermediateSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings},
		{"type_vocab_size", c.TypeVocabSize},
	}
	for _, f := range positive {
		if f.value <= 0 {
			return fmt.Errorf("field %q must be a positive integer, got %d", f.name, f.value)
		}
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("field %q (%d) must be a multiple of %q (%d)", "hidden_size", c.HiddenSize,
			"num_attention_heads", c.NumAttentionHeads)
	}
	if c.ModelType != "" && c.ModelType != "bert" {
		return fmt.Errorf("field %q is %q: only \"bert\" models are supported", "model_type", c.ModelType)
	}
	switch c.HiddenAct {
	case "gelu", "gelu_new", "gelu_pytorch_tanh", "relu":
	default:
		return fmt.Errorf("field %q is %q: want \"gelu\", \"gelu_new\", \"gelu_pytorch_tanh\" or \"relu\"", "hidden_act", c.HiddenAct)
	}
	if c.LayerNormEps <= 0 || c.LayerNormEps > 1e-2 {
		return fmt.Errorf("field %q must be in (0, 0.01], got %g", "layer_norm_eps", c.LayerNormEps)
	}
	for _, p := range []struct {
		name  string
		value float64
	}{{"hidden_dropout_prob", c.HiddenDropoutProb}, {"attention_probs_dropout_prob", c.AttentionProbsDropoutProb}} {
		if p.value < 0 || p.value >= 1 {
			return fmt.Errorf("field %q must be in [0, 1), got %g", p.name, p.value)
		}
	}
	if c.PadTokenID < 0 || c.PadTokenID >= c.VocabSize {
		return fmt.Errorf("field %q (%d) is outside the vocabulary (vocab_size %d)", "pad_token_id", c.PadTokenID, c.VocabSize)
	}
	if _, err := c.dtype(); err != nil {
		return err
	}
	return nil
}

// dtype is the GoMLX dtype of DType.
func (c *Config) dtype() (dtypes.DType, error) {
	switch strings.ToLower(c.DType) {
	case "", "float32", "fp32":
		return dtypes.Float32, nil
	case "float64", "fp64":
		return dtypes.Float64, nil
	case "bfloat16", "bf16":
		return dtypes.BFloat16, nil
	case "float16", "fp16":
		return dtypes.Float16, nil
	}
	return dtypes.InvalidDType, fmt.Errorf("field %q is %q: want \"float32\", \"float64\", \"bfloat16\" or \"float16\"", "torch_dtype", c.DType)
}

// DTypeOf returns the GoMLX dtype of the configuration (float32 when unset).
func (c *Config) DTypeOf() dtypes.DType {
	dt, err := c.dtype()
	if err != nil {
		return dtypes.Float32
	}
	return dt
}

// HeadDim is the width of one attention head.
func (c *Config) HeadDim() int { return c.HiddenSize / c.NumAttentionHeads }

// LoadConfig reads a Hugging Face `config.json` (or a directory holding one). Missing optional fields
// get BERT's defaults; a malformed file or an invalid field gives an error naming the file and field.
func LoadConfig(path string) (*Config, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "config.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading model config: %w", err)
	}
	c := &Config{
		ModelType:                 "bert",
		HiddenAct:                 "gelu",
		HiddenDropoutProb:         0.1,
		AttentionProbsDropoutProb: 0.1,
		MaxPositionEmbeddings:     512,
		TypeVocabSize:             2,
		InitializerRange:          0.02,
		LayerNormEps:              1e-12,
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(c); err != nil {
		var typeErr *json.UnmarshalTypeError
		var synErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			return nil, fmt.Errorf("%s: field %q: %v", path, typeErr.Field, err)
		case errors.As(err, &synErr):
			line := 1 + strings.Count(string(data[:min(int(synErr.Offset), len(data))]), "\n")
			return nil, fmt.Errorf("%s:%d: invalid JSON: %v", path, line, err)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.NumLabels == 0 && len(c.ID2Label) > 0 {
		c.NumLabels = len(c.ID2Label)
	}
	// HF writes torch_dtype only as information; any float type loads as float32 unless asked otherwise.
	if c.DType != "float64" {
		c.DType = "float32"
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Save writes the configuration as a Hugging Face `config.json` at path.
func (c *Config) Save(path string) error {
	out := *c
	if out.NumLabels > 0 && len(out.ID2Label) != out.NumLabels {
		out.ID2Label, out.Label2ID = map[string]string{}, map[string]int{}
		for i := range out.NumLabels {
			label := fmt.Sprintf("LABEL_%d", i)
			out.ID2Label[fmt.Sprint(i)] = label
			out.Label2ID[label] = i
		}
	}
	data, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return err
	}
	return files.WriteBytes(path, append(data, '\n'), 0o644)
}
