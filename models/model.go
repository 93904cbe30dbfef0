package models

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// ModelScope is the context scope under which a Model's parameters live; the scopes below it are
// Hugging Face's names ("/model/bert/encoder/layer/0/..." is "bert.encoder.layer.0....").
// Training state that is not part of the model (optimizer moments, step counters) lives outside it.
const ModelScope = "model"

// Model is a BERT encoder with one head, its configuration, and its parameters in a GoMLX context.
type Model struct {
	// Kind says which head the model has.
	Kind Kind
	// Config is the encoder's configuration.
	Config *Config
	// ColBERTDim is the width of ColBERT token embeddings (KindColBERT only).
	ColBERTDim int
	// Pooling is how a bi-encoder pools its token states ("": mean) and Normalize whether its
	// vectors are L2-normalised: a sentence-transformers folder's Pooling and Normalize modules.
	Pooling   Pooling
	Normalize bool
	// MaxSeqLength is the length (in tokens, special ones included) that the checkpoint cuts texts
	// to — sentence-transformers' max_seq_length, PyLate's document_length — and 0 when it says none.
	MaxSeqLength int
	// ColBERTText is how a PyLate ColBERT checkpoint lays out its inputs (nil: ColBERT's defaults).
	ColBERTText *ColBERTText
	// Fresh names the parameters an imported checkpoint lacked (ImportHF's ImportReport.Missing),
	// which start freshly initialised, e.g. a new head; nil for a model made by New.
	Fresh []string
	// Ctx holds the parameters under ModelScope (and, while training, the optimizer's state elsewhere).
	// It is created with Checked(false) so the same variables can be used by several graphs.
	Ctx *context.Context
}

// New creates a model with freshly initialised parameters: N(0, initializer_range²) weights, zero
// biases, unit LayerNorm gains. The values are drawn from seed when the parameters are first
// materialised (by a graph execution or [Model.Materialize]), so the same seed gives the same model.
func New(kind Kind, cfg *Config, colbertDim int, seed int64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if kind == KindColBERT && colbertDim <= 0 {
		colbertDim = DefaultColBERTDim
	}
	if kind == KindCrossEncoder && cfg.NumLabels <= 0 {
		cfg.NumLabels = 1
	}
	ctx := context.New().Checked(false)
	ctx.SetParam(context.ParamInitialSeed, seed)
	if err := ctx.SetRNGStateFromSeed(seed); err != nil {
		return nil, err
	}
	m := &Model{Kind: kind, Config: cfg, ColBERTDim: colbertDim, Ctx: ctx}
	// Declare every parameter now, so they exist (with their initialisers) before any graph is built.
	scope := ctx.In(ModelScope)
	params := ParamShapes(cfg, kind, colbertDim)
	for _, name := range sortedNames(params) { // sorted: the random draws must not depend on map order
		shape := params[name]
		vctx, vname := scopeOf(scope, name)
		switch {
		case strings.HasSuffix(name, "LayerNorm.weight"):
			layerNormGainVar(vctx, cfg, shape[0])
		case len(shape) == 1:
			biasVar(vctx, cfg, vname, shape[0])
		default:
			weightVar(vctx, cfg, vname, shape...)
		}
	}
	return m, nil
}

// Scope returns the context in which the head functions of this package build the model.
func (m *Model) Scope() *context.Context { return m.Ctx.In(ModelScope) }

// Materialize computes the initial values of parameters that have none yet, on backend.
func (m *Model) Materialize(backend backends.Backend) error {
	if !m.Ctx.NeedsInitialization() {
		return nil
	}
	return m.Ctx.InitializeVariables(backend, nil)
}

// Params returns every parameter by Hugging Face name. The model must be materialised.
func (m *Model) Params() (map[string]*tensors.Tensor, error) {
	out := make(map[string]*tensors.Tensor)
	prefix := "/" + ModelScope + "/"
	for v := range m.Ctx.IterVariables() {
		if !strings.HasPrefix(v.Scope()+"/", prefix) {
			continue
		}
		if !v.HasValue() {
			return nil, fmt.Errorf("parameter %s has no value yet: call Materialize first", ParamName(v))
		}
		t, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", ParamName(v), err)
		}
		out[ParamName(v)] = t
	}
	return out, nil
}

// SetParam replaces the value of the parameter with Hugging Face name `name`; the shape must match.
func (m *Model) SetParam(name string, value *tensors.Tensor) error {
	want, ok := ParamShapes(m.Config, m.Kind, m.ColBERTDim)[name]
	if !ok {
		return fmt.Errorf("model (%s) has no parameter %q", m.Kind, name)
	}
	if got := value.Shape(); !got.Equal(shapes.Make(m.Config.DTypeOf(), want...)) {
		return fmt.Errorf("parameter %q: shape %s, want %s", name, got, shapes.Make(m.Config.DTypeOf(), want...))
	}
	vctx, vname := scopeOf(m.Scope(), name)
	v := vctx.GetVariableByScopeAndName(vctx.Scope(), vname)
	if v == nil {
		return fmt.Errorf("parameter %q was not declared", name)
	}
	return v.SetValue(value)
}

// ParamName is the Hugging Face name of a model parameter's variable (the names of Params,
// SetParam and ParamShapes), e.g. "cls.predictions.bias".
func ParamName(v *context.Variable) string {
	rel := strings.TrimPrefix(v.Scope(), "/"+ModelScope)
	rel = strings.TrimPrefix(rel, "/")
	if rel == "" {
		return v.Name()
	}
	return strings.ReplaceAll(rel, "/", ".") + "." + v.Name()
}

// scopeOf returns the context scope and variable name of a Hugging Face parameter name.
func scopeOf(root *context.Context, name string) (*context.Context, string) {
	parts := strings.Split(name, ".")
	ctx := root
	for _, p := range parts[:len(parts)-1] {
		ctx = ctx.In(p)
	}
	return ctx, parts[len(parts)-1]
}

// Float32s returns a float32 or float64 tensor's values as float32s, row-major (float64 models
// run in float64; the encoders hand out float32 vectors either way).
func Float32s(t *tensors.Tensor) ([]float32, error) {
	switch t.DType() {
	case dtypes.Float32:
		return tensors.CopyFlatData[float32](t)
	case dtypes.Float64:
		f64, err := tensors.CopyFlatData[float64](t)
		if err != nil {
			return nil, err
		}
		f32 := make([]float32, len(f64))
		for i, v := range f64 {
			f32[i] = float32(v)
		}
		return f32, nil
	}
	return nil, fmt.Errorf("models: a %s tensor %s, want float32 or float64", t.DType(), t.Shape())
}
