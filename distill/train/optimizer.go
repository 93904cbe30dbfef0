package train

import (
	"math"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/mimicry-ir/mimicry/models"
)

// OptimizerScope is the context scope of the optimizer's state (step counter, moments).
const OptimizerScope = "optimizer"

// Optimizer configures AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019)
// with a linear warm-up then linear decay of the learning rate (as BERT fine-tuning and
// sentence-transformers do), clipping of the gradients' global L2 norm, and a guard that skips
// the update of a step whose loss or gradient is not finite.
//
// Weight decay applies to matrices only, not to biases and LayerNorm gains (HF's usual no_decay rule).
type Optimizer struct {
	// LearningRate is the peak learning rate.
	LearningRate float64
	// WarmupSteps is the number of steps over which the rate rises linearly from 0 to LearningRate.
	WarmupSteps int
	// TotalSteps is the step at which the rate has decayed linearly to 0 (no decay when <= 0).
	TotalSteps int
	// WeightDecay is AdamW's decoupled decay coefficient.
	WeightDecay float64
	// Beta1, Beta2 and Epsilon are Adam's; zero values mean 0.9, 0.999 and 1e-8.
	Beta1, Beta2, Epsilon float64
	// ClipNorm caps the global L2 norm of the gradients (no clipping when <= 0).
	ClipNorm float64
	// LRMultipliers scales the learning rate of single parameters, by Hugging Face name (e.g.
	// models.SpladeTermBias, "cls.predictions.bias"): Adam moves every coordinate by about the
	// learning rate per step whatever its scale, so a parameter that must travel far (a bias of a
	// few units beside weights of 0.1) needs a larger rate than the rest. Trainer.Run refuses a name
	// the model does not have.
	LRMultipliers map[string]float64 `json:",omitempty"`
}

// LearningRateAt returns the scheduled learning rate at 1-based step t.
func (o *Optimizer) LearningRateAt(t int) float64 {
	lr := o.LearningRate
	if o.WarmupSteps > 0 && t < o.WarmupSteps {
		return lr * float64(t) / float64(o.WarmupSteps)
	}
	if o.TotalSteps > 0 {
		remaining := float64(o.TotalSteps-t) / float64(max(o.TotalSteps-o.WarmupSteps, 1))
		return lr * max(0, min(1, remaining))
	}
	return lr
}

// StepResult holds the per-step scalars the update graph returns.
type StepResult struct {
	// GradNorm is the global L2 norm of the gradients before clipping.
	GradNorm *Node
	// LearningRate is the rate used for this step.
	LearningRate *Node
	// Applied is true when the update was applied (loss and gradients finite).
	Applied *Node
}

// stepVar is the optimizer's step counter (number of updates applied so far).
func stepVar(ctx *context.Context) *context.Variable {
	v := ctx.InAbsPath("/"+OptimizerScope).WithInitializer(initializers.Zero).
		VariableWithShape("step", shapes.Make(dtypes.Int64))
	v.SetTrainable(false)
	return v
}

// Step returns the number of updates applied so far, as saved in ctx (0 for a fresh model).
func Step(ctx *context.Context) int {
	v := ctx.InspectVariable("/"+OptimizerScope, "step")
	if v == nil || !v.HasValue() {
		return 0
	}
	t, err := v.Value()
	if err != nil {
		return 0
	}
	return int(t.Value().(int64))
}

// UpdateGraph adds to loss's graph the AdamW update of every trainable model parameter (the
// variables under models.ModelScope) and returns the step's scalars.
func (o *Optimizer) UpdateGraph(ctx *context.Context, loss *Node) StepResult {
	g := loss.Graph()
	beta1, beta2, eps := o.Beta1, o.Beta2, o.Epsilon
	if beta1 == 0 {
		beta1 = 0.9
	}
	if beta2 == 0 {
		beta2 = 0.999
	}
	if eps == 0 {
		eps = 1e-8
	}
	var vars []*context.Variable
	var nodes []*Node
	prefix := "/" + models.ModelScope
	for v := range ctx.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) && (v.Scope() == prefix || strings.HasPrefix(v.Scope(), prefix+"/")) {
			vars = append(vars, v)
			nodes = append(nodes, v.ValueGraph(g))
		}
	}
	grads := Gradient(loss, nodes...)

	// Global gradient norm (in float32 or the loss dtype), finite guard and clipping.
	dtype := loss.DType()
	sumSq := ScalarZero(g, dtype)
	for _, gr := range grads {
		sumSq = Add(sumSq, ConvertDType(ReduceAllSum(Square(gr)), dtype))
	}
	gradNorm := Sqrt(sumSq)
	finite := LogicalAnd(IsFinite(loss), IsFinite(gradNorm))
	scale := ScalarOne(g, dtype)
	if o.ClipNorm > 0 {
		scale = Min(scale, Div(Scalar(g, dtype, o.ClipNorm), AddScalar(gradNorm, 1e-6)))
	}

	sv := stepVar(ctx)
	oldStep := sv.ValueGraph(g)
	newStep := AddScalar(oldStep, 1)
	t := ConvertDType(newStep, dtype)
	lr := o.learningRateGraph(t)
	bias1 := OneMinus(Pow(Scalar(g, dtype, beta1), t))
	bias2 := OneMinus(Pow(Scalar(g, dtype, beta2), t))

	for i, v := range vars {
		w := nodes[i]
		vd := w.DType()
		grad := Mul(grads[i], ConvertDType(scale, vd))
		// Replace non-finite gradients by 0 so the (discarded) update stays finite.
		grad = Where(finite, grad, ZerosLike(grad))
		mVar, vVar := momentVars(ctx, v)
		m := Add(MulScalar(mVar.ValueGraph(g), beta1), MulScalar(grad, 1-beta1))
		s := Add(MulScalar(vVar.ValueGraph(g), beta2), MulScalar(Square(grad), 1-beta2))
		mHat := Div(m, ConvertDType(bias1, vd))
		sHat := Div(s, ConvertDType(bias2, vd))
		upd := Div(mHat, AddScalar(Sqrt(sHat), eps))
		if o.WeightDecay > 0 && v.Shape().Rank() >= 2 {
			upd = Add(upd, MulScalar(w, o.WeightDecay))
		}
		rate := ConvertDType(lr, vd)
		if f, ok := o.LRMultipliers[models.ParamName(v)]; ok {
			rate = MulScalar(rate, f)
		}
		newW := Sub(w, Mul(rate, upd))
		v.SetValueGraph(Where(finite, newW, w))
		mVar.SetValueGraph(Where(finite, m, mVar.ValueGraph(g)))
		vVar.SetValueGraph(Where(finite, s, vVar.ValueGraph(g)))
	}
	sv.SetValueGraph(Where(finite, newStep, oldStep))
	return StepResult{GradNorm: gradNorm, LearningRate: lr, Applied: finite}
}

// learningRateGraph is LearningRateAt in the graph, t being the 1-based step as a float.
func (o *Optimizer) learningRateGraph(t *Node) *Node {
	g := t.Graph()
	dtype := t.DType()
	lr := Scalar(g, dtype, o.LearningRate)
	one := ScalarOne(g, dtype)
	if o.WarmupSteps > 0 {
		warm := DivScalar(t, float64(o.WarmupSteps))
		lr = Mul(lr, Min(warm, one))
	}
	if o.TotalSteps > 0 {
		span := math.Max(float64(o.TotalSteps-o.WarmupSteps), 1)
		remaining := DivScalar(Sub(Scalar(g, dtype, float64(o.TotalSteps)), t), span)
		remaining = Max(Min(remaining, one), ScalarZero(g, dtype))
		decayed := Mul(Scalar(g, dtype, o.LearningRate), remaining)
		if o.WarmupSteps > 0 {
			lr = Where(LessThan(t, Scalar(g, dtype, float64(o.WarmupSteps))), lr, decayed)
		} else {
			lr = decayed
		}
	}
	return lr
}

// momentVars returns Adam's first and second moment variables of a parameter.
func momentVars(ctx *context.Context, v *context.Variable) (m, s *context.Variable) {
	scope := ctx.InAbsPath("/" + OptimizerScope + v.Scope()).WithInitializer(initializers.Zero)
	m = scope.VariableWithShape(v.Name()+"_m", v.Shape())
	s = scope.VariableWithShape(v.Name()+"_v", v.Shape())
	m.SetTrainable(false)
	s.SetTrainable(false)
	return m, s
}
