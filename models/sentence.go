package models

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Pooling says how a bi-encoder turns its token states into one vector (sentence-transformers'
// Pooling module).
type Pooling string

// The poolings a bi-encoder can have.
const (
	// PoolMean averages the states of the real (non-padding) tokens: Sentence-BERT's default.
	PoolMean Pooling = "mean"
	// PoolCLS takes the state of the first token ([CLS]).
	PoolCLS Pooling = "cls"
	// PoolMax takes the maximum of each dimension over the real tokens.
	PoolMax Pooling = "max"
	// PoolMeanSqrtLen divides the sum of the real tokens' states by √(number of tokens).
	PoolMeanSqrtLen Pooling = "mean_sqrt_len"
)

// Files of sentence-transformers (and PyLate) model folders.
const (
	// STModulesFile lists a sentence-transformers model's modules in order.
	STModulesFile = "modules.json"
	// STConfigFile holds sentence-transformers' (and PyLate's) settings: prompts, prefixes, lengths.
	STConfigFile = "config_sentence_transformers.json"
	// STBertConfigFile holds the Transformer module's max_seq_length.
	STBertConfigFile = "sentence_bert_config.json"
)

// stModule is an entry of modules.json.
type stModule struct {
	Idx  int    `json:"idx"`
	Name string `json:"name"`
	Path string `json:"path"`
	Type string `json:"type"`
}

// stFolder is what a sentence-transformers or PyLate folder adds to the transformer's own files.
type stFolder struct {
	// transformerDir holds config.json, the weights and the tokenizer ("" module path: the folder).
	transformerDir string
	// pooling is set when there is a Pooling module; normalize when there is a Normalize module.
	pooling   Pooling
	normalize bool
	// denseDir is the folder of a Dense projection (PyLate's ColBERT head), "" when none.
	denseDir string
	// maxSeqLength is sentence_bert_config.json's max_seq_length (0: not given).
	maxSeqLength int
	// queryPrefix and documentPrefix are PyLate's markers ("[Q] ", "[D] ").
	queryPrefix, documentPrefix string
	// queryLength and documentLength are PyLate's lengths (0: not given).
	queryLength, documentLength int
	// attendExpansion is PyLate's attend_to_expansion_tokens.
	attendExpansion bool
	// splade says the folder is a sentence-transformers SparseEncoder (MLMTransformer + SpladePooling).
	splade bool
}

// checkSpladePooling accepts the SpladePooling configurations that SPLADE's vectors are:
// max-pooling of log(1 + ReLU(logits)).
func checkSpladePooling(path string) error {
	var cfg struct {
		Strategy   string `json:"pooling_strategy"`
		Activation string `json:"activation_function"`
	}
	if err := readOptionalJSON(path, &cfg); err != nil {
		return err
	}
	if cfg.Strategy != "" && cfg.Strategy != "max" {
		return fmt.Errorf("%s: field \"pooling_strategy\" is %q: Mimicry's SPLADE max-pools", path, cfg.Strategy)
	}
	if cfg.Activation != "" && cfg.Activation != "relu" {
		return fmt.Errorf("%s: field \"activation_function\" is %q: Mimicry's SPLADE uses log(1 + ReLU)", path, cfg.Activation)
	}
	return nil
}

// readSTFolder reads modules.json and the files it points to; it returns nil (and no error) when
// dir has no modules.json. A module it cannot run is an error naming the file and field.
func readSTFolder(dir string) (*stFolder, error) {
	path := filepath.Join(dir, STModulesFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var mods []stModule
	if err := json.Unmarshal(data, &mods); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st := &stFolder{transformerDir: dir}
	for i, m := range mods {
		where := fmt.Sprintf("%s: module %d (%q)", path, i, m.Type)
		if strings.Contains(m.Path, "..") || filepath.IsAbs(m.Path) {
			return nil, fmt.Errorf("%s: field \"path\" %q leaves the folder", where, m.Path)
		}
		mdir := filepath.Join(dir, filepath.FromSlash(m.Path))
		switch typeName(m.Type) {
		case "MLMTransformer":
			// sentence-transformers' SparseEncoder: a BertForMaskedLM, pooled by SpladePooling.
			st.splade = true
			fallthrough
		case "Transformer":
			if i != 0 {
				return nil, fmt.Errorf("%s: the Transformer must be the first module", where)
			}
			st.transformerDir = mdir
			var cfg struct {
				MaxSeqLength int `json:"max_seq_length"`
			}
			if err := readOptionalJSON(filepath.Join(mdir, STBertConfigFile), &cfg); err != nil {
				return nil, err
			}
			st.maxSeqLength = cfg.MaxSeqLength
		case "Pooling":
			p, err := readPooling(filepath.Join(mdir, "config.json"))
			if err != nil {
				return nil, err
			}
			st.pooling = p
		case "Normalize":
			st.normalize = true
		case "SpladePooling":
			if err := checkSpladePooling(filepath.Join(mdir, "config.json")); err != nil {
				return nil, err
			}
		case "Dense":
			if st.denseDir != "" {
				return nil, fmt.Errorf("%s: a second Dense module: only one projection is supported", where)
			}
			if err := checkDense(mdir); err != nil {
				return nil, err
			}
			st.denseDir = mdir
		default:
			return nil, fmt.Errorf("%s: field \"type\": module type %q is not supported (Transformer, Pooling, Normalize, PyLate's Dense, and SparseEncoder's MLMTransformer and SpladePooling are)", path, m.Type)
		}
	}
	if st.denseDir != "" && st.pooling != "" {
		return nil, fmt.Errorf("%s: a Dense projection after Pooling (a dense bi-encoder with a projection) is not supported", path)
	}
	var cfg struct {
		QueryPrefix     string `json:"query_prefix"`
		DocumentPrefix  string `json:"document_prefix"`
		QueryLength     int    `json:"query_length"`
		DocumentLength  int    `json:"document_length"`
		AttendExpansion bool   `json:"attend_to_expansion_tokens"`
	}
	if err := readOptionalJSON(filepath.Join(dir, STConfigFile), &cfg); err != nil {
		return nil, err
	}
	st.queryPrefix, st.documentPrefix = cfg.QueryPrefix, cfg.DocumentPrefix
	st.queryLength, st.documentLength, st.attendExpansion = cfg.QueryLength, cfg.DocumentLength, cfg.AttendExpansion
	return st, nil
}

// typeName is the class name of a module type ("sentence_transformers.models.Pooling" → "Pooling",
// "pylate.models.Dense.Dense" → "Dense").
func typeName(t string) string {
	return t[strings.LastIndex(t, ".")+1:]
}

func readOptionalJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readPooling reads a Pooling module's config.json: exactly one of the supported modes.
func readPooling(path string) (Pooling, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("pooling module: %w", err)
	}
	var modes map[string]any
	if err := json.Unmarshal(data, &modes); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if m, ok := modes["pooling_mode"].(string); ok { // the single-field form of the constructor
		switch m {
		case "cls":
			return PoolCLS, nil
		case "mean":
			return PoolMean, nil
		case "max":
			return PoolMax, nil
		case "mean_sqrt_len_tokens":
			return PoolMeanSqrtLen, nil
		}
		return "", fmt.Errorf("%s: field \"pooling_mode\" is %q: only cls, mean, max and mean_sqrt_len_tokens are supported", path, m)
	}
	known := map[string]Pooling{
		"pooling_mode_cls_token":            PoolCLS,
		"pooling_mode_mean_tokens":          PoolMean,
		"pooling_mode_max_tokens":           PoolMax,
		"pooling_mode_mean_sqrt_len_tokens": PoolMeanSqrtLen,
	}
	var found []string
	var pooling Pooling
	for field, v := range modes {
		if on, _ := v.(bool); !on || !strings.HasPrefix(field, "pooling_mode_") {
			continue
		}
		p, ok := known[field]
		if !ok {
			return "", fmt.Errorf("%s: field %q: this pooling is not supported (cls, mean, max and mean_sqrt_len are)", path, field)
		}
		if pooling != p {
			found = append(found, field)
		}
		pooling = p
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s: no pooling_mode_* field is true", path)
	case 1:
		return pooling, nil
	}
	return "", fmt.Errorf("%s: fields %s are all true: concatenated poolings are not supported", path, strings.Join(found, ", "))
}

// checkDense checks that a Dense module is a linear map without bias or activation, the ColBERT
// projection PyLate writes.
func checkDense(dir string) error {
	path := filepath.Join(dir, "config.json")
	var cfg struct {
		In         int     `json:"in_features"`
		Out        int     `json:"out_features"`
		Bias       *bool   `json:"bias"`
		Activation *string `json:"activation_function"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("dense module: %w", err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Bias != nil && *cfg.Bias {
		return fmt.Errorf("%s: field \"bias\" is true: ColBERT's projection has no bias", path)
	}
	if cfg.Activation != nil && typeName(*cfg.Activation) != "Identity" {
		return fmt.Errorf("%s: field \"activation_function\" is %q: only Identity is supported", path, *cfg.Activation)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err != nil {
		if _, binErr := os.Stat(filepath.Join(dir, "pytorch_model.bin")); binErr == nil {
			return fmt.Errorf("%s: only safetensors weights are supported; convert pytorch_model.bin first "+
				"(PyLate/sentence-transformers: model.save(dir, safe_serialization=True))", dir)
		}
		return fmt.Errorf("dense module: %w", err)
	}
	return nil
}

// BiEncoderEmbeddings is a dense bi-encoder (Sentence-BERT, Reimers & Gurevych 2019, and the
// sentence-transformers models built like it): BERT's token states pooled into one vector per
// text as pooling says ("" is mean), L2-normalised when normalize is set. ctx is the model's root
// scope (holding "bert"); ids and mask are [B, L]; the result is [B, H].
func BiEncoderEmbeddings(ctx *context.Context, cfg *Config, pooling Pooling, normalize bool, ids, mask *Node) *Node {
	hidden := BertEncoder(ctx.In("bert"), cfg, ids, nil, mask)
	out := PoolTokens(hidden, mask, pooling)
	if normalize {
		out = L2Normalize(out, -1)
	}
	return out
}

// PoolTokens pools token states [B, L, H] over the real tokens (mask [B, L], true or 1 on them)
// into [B, H], as sentence-transformers' Pooling module does.
func PoolTokens(hidden, mask *Node, pooling Pooling) *Node {
	g := hidden.Graph()
	m := mask
	if m.DType() != dtypes.Bool {
		m = NotEqual(m, ScalarZero(g, m.DType()))
	}
	mf := InsertAxes(ConvertDType(m, hidden.DType()), -1) // [B, L, 1]
	switch pooling {
	case PoolCLS:
		return FirstToken(hidden)
	case PoolMax:
		bm := BroadcastToShape(InsertAxes(m, -1), shapes.Make(dtypes.Bool, hidden.Shape().Dimensions...))
		neg := BroadcastToShape(Scalar(g, hidden.DType(), maskedScore), hidden.Shape())
		return ReduceMax(Where(bm, hidden, neg), 1)
	}
	sum := ReduceSum(Mul(hidden, mf), 1)
	count := Max(ReduceSum(mf, 1), Scalar(g, hidden.DType(), 1e-9))
	if pooling == PoolMeanSqrtLen {
		return Div(sum, Sqrt(count))
	}
	return Div(sum, count)
}

// ColBERTText is how a PyLate ColBERT checkpoint lays out its texts (config_sentence_transformers.json).
type ColBERTText struct {
	// QueryPrefix and DocumentPrefix are put before the text, e.g. "[Q] " and "[D] " (tokens PyLate
	// adds to the vocabulary).
	QueryPrefix, DocumentPrefix string
	// QueryLength is the length queries are padded with [MASK] to; DocumentLength the length
	// documents are cut to (0: not given).
	QueryLength, DocumentLength int
	// AttendExpansion says the encoder attends to the [MASK] padding of queries.
	AttendExpansion bool
}

// ColBERTMarkers returns the tokens a ColBERT model puts after [CLS] of queries and documents:
// PyLate's prefixes (ColBERTText, e.g. "[Q] " and "[D] ") when the model came from a PyLate folder,
// else Mimicry's and Stanford ColBERT's tokenizer.QueryMarker and tokenizer.DocMarker.
func (m *Model) ColBERTMarkers() (query, document string) {
	query, document = tokenizer.QueryMarker, tokenizer.DocMarker
	if t := m.ColBERTText; t != nil {
		query, document = cmp.Or(t.QueryPrefix, query), cmp.Or(t.DocumentPrefix, document)
	}
	return query, document
}
