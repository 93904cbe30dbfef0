package models

import (
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

func TestColBERTInputs(t *testing.T) {
	tk := tokenizer.Default()
	q, err := ColBERTQueryInputs(tk, []string{"hello world"}, 8, false, "")
	if err != nil {
		t.Fatal(err)
	}
	ids := tensors.MustCopyFlatData[int32](q.IDs)
	// [CLS]=101 [unused0]=1 hello=7592 world=2088 [SEP]=102 then [MASK]=103 to length 8.
	if want := []int32{101, 1, 7592, 2088, 102, 103, 103, 103}; !slices.Equal(ids, want) {
		t.Fatalf("query ids %v, want %v", ids, want)
	}
	if mask := tensors.MustCopyFlatData[int32](q.Mask); !slices.Equal(mask, []int32{1, 1, 1, 1, 1, 0, 0, 0}) {
		t.Fatalf("query mask %v", mask)
	}
	d, err := ColBERTDocInputs(tk, []string{"hello, world!", "hello"}, 16, "")
	if err != nil {
		t.Fatal(err)
	}
	dids := tensors.MustCopyFlatData[int32](d.IDs)
	score := tensors.MustCopyFlatData[int32](d.ScoreMask)
	comma, _ := tk.TokenToID(",")
	bang, _ := tk.TokenToID("!")
	if dids[1] != 2 || dids[3] != int32(comma) || dids[5] != int32(bang) {
		t.Fatalf("document ids %v", dids[:d.L])
	}
	// [CLS] [D] hello , world ! [SEP] pad → punctuation and padding excluded from MaxSim.
	if want := []int32{1, 1, 1, 0, 1, 0, 1, 0}; !slices.Equal(score[:8], want) {
		t.Fatalf("score mask %v, want %v", score[:8], want)
	}
	if d.L%padMultiple != 0 {
		t.Fatalf("documents padded to %d, not a multiple of %d", d.L, padMultiple)
	}
}

func TestPairInputs(t *testing.T) {
	tk := tokenizer.Default()
	in, err := PairInputs(tk, []string{"hello"}, []string{"world"}, 32)
	if err != nil {
		t.Fatal(err)
	}
	ids := tensors.MustCopyFlatData[int32](in.IDs)
	types := tensors.MustCopyFlatData[int32](in.TypeIDs)
	if !slices.Equal(ids[:5], []int32{101, 7592, 102, 2088, 102}) || !slices.Equal(types[:5], []int32{0, 0, 0, 1, 1}) {
		t.Fatalf("pair ids %v types %v", ids, types)
	}
}
