package colbert

import (
	"math"
	"testing"

	"github.com/mimicry-ir/mimicry/distill/score"
)

// TestColBERTExplain: the explanation's score is the encoder's MaxSim score, each row's best match
// is its maximum, and the passage tokens are those that take part in MaxSim.
func TestColBERTExplain(t *testing.T) {
	f := getColbertIndexFixture(t)
	texts := score.Texts(f.docs)
	q, p := "how many people live in port kelda", texts[f.docs[0].ID]
	ex, err := f.enc.Explain(q, p)
	if err != nil {
		t.Fatal(err)
	}
	scores, err := f.enc.Score([]string{q}, []string{p})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(ex.Score)-scores[0]) > 1e-4*math.Max(1, math.Abs(scores[0])) {
		t.Fatalf("explained score %v, encoder score %v", ex.Score, scores[0])
	}
	docs, err := f.enc.EncodeDocs([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.DocTokens)*f.enc.Dim() != len(docs[0]) || len(ex.QueryTokens) != len(ex.Similarity) || ex.QueryTokens[0] == "" {
		t.Fatalf("%d passage tokens for %d embeddings; %d query tokens, %d rows", len(ex.DocTokens), len(docs[0])/f.enc.Dim(), len(ex.QueryTokens), len(ex.Similarity))
	}
	for i, row := range ex.Similarity {
		for _, v := range row {
			if v > row[ex.Best[i]] {
				t.Fatalf("row %d: best %d is not the maximum", i, ex.Best[i])
			}
		}
	}
}
