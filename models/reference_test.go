package models

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// refBert is an independent, loop-by-loop implementation of BERT's forward pass (HF BertModel's
// math), used to check the graph implementation on the same weights.
func refBert(p map[string][]float64, cfg *Config, ids, types [][]int32, mask [][]bool) [][][]float64 {
	h := cfg.HiddenSize
	linear := func(x []float64, name string, out int) []float64 {
		w, b := p[name+".weight"], p[name+".bias"]
		y := make([]float64, out)
		for o := range out {
			s := b[o]
			for i := range x {
				s += w[o*len(x)+i] * x[i]
			}
			y[o] = s
		}
		return y
	}
	layerNorm := func(x []float64, name string) []float64 {
		var mean, v float64
		for _, a := range x {
			mean += a
		}
		mean /= float64(len(x))
		for _, a := range x {
			v += (a - mean) * (a - mean)
		}
		v /= float64(len(x))
		y := make([]float64, len(x))
		for i, a := range x {
			y[i] = (a-mean)/math.Sqrt(v+cfg.LayerNormEps)*p[name+".weight"][i] + p[name+".bias"][i]
		}
		return y
	}
	gelu := func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
	out := make([][][]float64, len(ids))
	for b := range ids {
		l := len(ids[b])
		xs := make([][]float64, l)
		for t := range l {
			x := make([]float64, h)
			for i := range h {
				x[i] = p["bert.embeddings.word_embeddings.weight"][int(ids[b][t])*h+i] +
					p["bert.embeddings.position_embeddings.weight"][t*h+i] +
					p["bert.embeddings.token_type_embeddings.weight"][int(types[b][t])*h+i]
			}
			xs[t] = layerNorm(x, "bert.embeddings.LayerNorm")
		}
		nh, hd := cfg.NumAttentionHeads, cfg.HeadDim()
		for layer := range cfg.NumHiddenLayers {
			pre := "bert.encoder.layer." + string(rune('0'+layer)) + "."
			q, k, v := make([][]float64, l), make([][]float64, l), make([][]float64, l)
			for t := range l {
				q[t] = linear(xs[t], pre+"attention.self.query", h)
				k[t] = linear(xs[t], pre+"attention.self.key", h)
				v[t] = linear(xs[t], pre+"attention.self.value", h)
			}
			next := make([][]float64, l)
			for t := range l {
				ctxv := make([]float64, h)
				for head := range nh {
					scores := make([]float64, l)
					maxS := math.Inf(-1)
					for s := range l {
						var dot float64
						for d := range hd {
							dot += q[t][head*hd+d] * k[s][head*hd+d]
						}
						scores[s] = dot / math.Sqrt(float64(hd))
						if !mask[b][s] {
							scores[s] = math.Inf(-1)
						}
						maxS = math.Max(maxS, scores[s])
					}
					var z float64
					for s := range l {
						scores[s] = math.Exp(scores[s] - maxS)
						z += scores[s]
					}
					for s := range l {
						for d := range hd {
							ctxv[head*hd+d] += scores[s] / z * v[s][head*hd+d]
						}
					}
				}
				a := linear(ctxv, pre+"attention.output.dense", h)
				for i := range a {
					a[i] += xs[t][i]
				}
				a = layerNorm(a, pre+"attention.output.LayerNorm")
				inter := linear(a, pre+"intermediate.dense", cfg.IntermediateSize)
				for i := range inter {
					inter[i] = gelu(inter[i])
				}
				o := linear(inter, pre+"output.dense", h)
				for i := range o {
					o[i] += a[i]
				}
				next[t] = layerNorm(o, pre+"output.LayerNorm")
			}
			xs = next
		}
		out[b] = xs
	}
	return out
}

// TestBertMatchesReference compares BertEncoder with the loop implementation on random weights, on
// real (unpadded) positions.
func TestBertMatchesReference(t *testing.T) {
	cfg := tinyTestConfig()
	m, err := New(KindBiEncoder, cfg, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	ids, types, mask := testBatch()
	exec, err := context.NewExec(testBackend(t), m.Ctx, func(ctx *context.Context, ids, types, mask *Node) *Node {
		return BertEncoder(ctx.In(ModelScope).In("bert"), cfg, ids, types, mask)
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Exec(ids, types, mask)
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float64](res[0])
	params, _ := m.Params()
	p := map[string][]float64{}
	for k, v := range params {
		p[k] = tensors.MustCopyFlatData[float64](v)
	}
	want := refBert(p, cfg, ids, types, mask)
	l, h := len(ids[0]), cfg.HiddenSize
	for b := range ids {
		for tok := range l {
			if !mask[b][tok] {
				continue
			}
			for i := range h {
				g := got[(b*l+tok)*h+i]
				if math.Abs(g-want[b][tok][i]) > 1e-9 {
					t.Fatalf("hidden[%d,%d,%d] = %.12g, reference %.12g", b, tok, i, g, want[b][tok][i])
				}
			}
		}
	}
}
