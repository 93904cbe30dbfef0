package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

func i32(xs ...int) []int32 {
	out := make([]int32, len(xs))
	for i, x := range xs {
		out[i] = int32(x)
	}
	return out
}

func TestEncodePairBatchLayout(t *testing.T) {
	tk := Default()
	// Hugging Face tokenizers' quick tour, bert-base-uncased pair example.
	b, err := EncodePairBatch(tk, []string{"Hello, y'all!"}, []string{"How are you 😁 ?"}, 16)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size != 1 || b.Len != 16 || len(b.IDs) != 16 || len(b.TypeIDs) != 16 || len(b.Mask) != 16 {
		t.Fatalf("shape: Size=%d Len=%d lens=%d,%d,%d", b.Size, b.Len, len(b.IDs), len(b.TypeIDs), len(b.Mask))
	}
	ids, types, mask := b.Row(0)
	toks := make([]int, len(ids))
	for i, id := range ids {
		toks[i] = int(id)
	}
	wantToks := []string{"[CLS]", "hello", ",", "y", "'", "all", "!", "[SEP]", "how", "are", "you", "[UNK]", "?", "[SEP]", "[PAD]", "[PAD]"}
	if got := Tokens(tk, toks); !slices.Equal(got, wantToks) {
		t.Errorf("tokens = %q,\nwant %q", got, wantToks)
	}
	if want := i32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0); !slices.Equal(types, want) {
		t.Errorf("type ids = %v, want %v", types, want)
	}
	if want := i32(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0); !slices.Equal(mask, want) {
		t.Errorf("mask = %v, want %v", mask, want)
	}
	if b.Lengths[0] != 14 {
		t.Errorf("Lengths = %v, want [14]", b.Lengths)
	}
}

// Hugging Face tokenizers' truncate_encodings_longest_first test table (max_length 7).
func TestTruncatePairLongestFirst(t *testing.T) {
	const empty, short, medium, long = 0, 2, 4, 8
	for _, c := range [][4]int{
		{empty, empty, 0, 0}, {empty, short, 0, 2}, {empty, medium, 0, 4}, {empty, long, 0, 7},
		{short, empty, 2, 0}, {short, short, 2, 2}, {short, medium, 2, 4}, {short, long, 2, 5},
		{medium, empty, 4, 0}, {medium, short, 4, 2}, {medium, medium, 3, 4}, {medium, long, 3, 4},
		{long, empty, 7, 0}, {long, short, 5, 2}, {long, medium, 4, 3}, {long, long, 3, 4},
	} {
		n1, n2 := truncatePair(c[0], c[1], 7, LongestFirst)
		if n1 != c[2] || n2 != c[3] {
			t.Errorf("truncatePair(%d, %d, 7) = %d, %d; want %d, %d", c[0], c[1], n1, n2, c[2], c[3])
		}
	}
	for _, c := range [][4]int{{2, 8, 2, 5}, {8, 2, 7, 0}, {3, 3, 3, 3}, {9, 9, 7, 0}} {
		n1, n2 := truncatePair(c[0], c[1], 7, OnlySecond)
		if n1 != c[2] || n2 != c[3] {
			t.Errorf("truncatePair(%d, %d, 7, OnlySecond) = %d, %d; want %d, %d", c[0], c[1], n1, n2, c[2], c[3])
		}
	}
}

func TestPairBatchTruncation(t *testing.T) {
	tk := Default()
	q := seqIDs(100, 4)   // 4 tokens
	p := seqIDs(2000, 20) // 20 tokens
	b, err := PairBatchFromIDs(tk, [][]int{q, q}, [][]int{p, p[:3]}, 16)
	if err != nil {
		t.Fatal(err)
	}
	ids, types, mask := b.Row(0)
	// Budget 13: the query keeps 4 tokens, the passage 9.
	want := append(append(append(append([]int{101}, q...), 102), p[:9]...), 102)
	if !slices.Equal(ids, i32(want...)) {
		t.Errorf("row 0 = %v, want %v", ids, want)
	}
	if !slices.Equal(types, i32(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)) || slices.Contains(mask, 0) {
		t.Errorf("row 0 types %v mask %v", types, mask)
	}
	if b.Lengths[0] != 16 || b.Lengths[1] != 10 {
		t.Errorf("Lengths = %v, want [16 10]", b.Lengths)
	}
	// OnlySecond keeps the whole (long) first text when it fits.
	b, err = PairBatchFromIDs(tk, [][]int{p[:12]}, [][]int{q}, 16, WithTruncation(OnlySecond))
	if err != nil {
		t.Fatal(err)
	}
	ids, _, _ = b.Row(0)
	want = append(append(append(append([]int{101}, p[:12]...), 102), q[:1]...), 102)
	if !slices.Equal(ids, i32(want...)) {
		t.Errorf("OnlySecond row = %v, want %v", ids, want)
	}
}

// seqIDs returns n consecutive ids starting at from.
func seqIDs(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

func TestEncodeBatchShapes(t *testing.T) {
	tk := Default()
	texts := []string{"hello world", "", strings.Repeat("token ", 50), "tokenization"}
	b, err := EncodeBatch(tk, texts, 8)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size != 4 || b.Len != 8 || len(b.IDs) != 32 || len(b.TypeIDs) != 32 || len(b.Mask) != 32 {
		t.Fatalf("shape: Size=%d Len=%d lens=%d,%d,%d", b.Size, b.Len, len(b.IDs), len(b.TypeIDs), len(b.Mask))
	}
	wantRows := [][]int32{
		i32(101, 7592, 2088, 102, 0, 0, 0, 0),
		i32(101, 102, 0, 0, 0, 0, 0, 0),
		i32(101, 19204, 19204, 19204, 19204, 19204, 19204, 102),
		i32(101, 19204, 3989, 102, 0, 0, 0, 0),
	}
	wantLens := []int{4, 2, 8, 4}
	for i := range wantRows {
		ids, types, mask := b.Row(i)
		if !slices.Equal(ids, wantRows[i]) {
			t.Errorf("row %d = %v, want %v", i, ids, wantRows[i])
		}
		for j := range mask {
			want := int32(0)
			if j < wantLens[i] {
				want = 1
			}
			if mask[j] != want || types[j] != 0 {
				t.Errorf("row %d: mask = %v, types = %v", i, mask, types)
				break
			}
		}
	}
	if !slices.Equal(b.Lengths, wantLens) {
		t.Errorf("Lengths = %v, want %v", b.Lengths, wantLens)
	}
	lens, err := Lengths(tk, texts, 8)
	if err != nil || !slices.Equal(lens, wantLens) {
		t.Errorf("Lengths() = %v, %v; want %v", lens, err, wantLens)
	}
}

func TestEncodeBatchColBERT(t *testing.T) {
	tk := Default()
	b, err := EncodeBatch(tk, []string{"hello world"}, QueryMaxLen, WithMarker(QueryMarker), WithPadToken(MaskToken))
	if err != nil {
		t.Fatal(err)
	}
	ids, _, mask := b.Row(0)
	if b.Len != 32 || len(ids) != 32 {
		t.Fatalf("Len = %d", b.Len)
	}
	wantHead := i32(101, 1, 7592, 2088, 102)
	if !slices.Equal(ids[:5], wantHead) {
		t.Errorf("head = %v, want %v", ids[:5], wantHead)
	}
	for j := 5; j < 32; j++ {
		if ids[j] != 103 || mask[j] != 0 {
			t.Fatalf("position %d: id %d mask %d, want [MASK] with mask 0", j, ids[j], mask[j])
		}
	}
	b, err = EncodeBatch(tk, []string{strings.Repeat("world ", 400)}, DocMaxLen, WithMarker(DocMarker))
	if err != nil {
		t.Fatal(err)
	}
	ids, _, _ = b.Row(0)
	if len(ids) != 180 || ids[0] != 101 || ids[1] != 2 || ids[2] != 2088 || ids[179] != 102 || b.Lengths[0] != 180 {
		t.Errorf("document row: len %d head %v tail %d Lengths %v", len(ids), ids[:3], ids[179], b.Lengths)
	}
	lens, err := Lengths(tk, []string{"hello world", strings.Repeat("world ", 400)}, DocMaxLen, WithMarker(DocMarker))
	if err != nil || !slices.Equal(lens, []int{5, 180}) {
		t.Errorf("Lengths = %v, %v; want [5 180]", lens, err)
	}
}

func TestPadToMultiple(t *testing.T) {
	tk := Default()
	b, err := EncodeBatch(tk, []string{"hello", "hello world hello world hello"}, 64, WithPadToMultiple(8))
	if err != nil {
		t.Fatal(err)
	}
	if b.Len != 8 || len(b.IDs) != 16 || !slices.Equal(b.Lengths, []int{3, 7}) {
		t.Errorf("Len = %d, Lengths = %v; want 8, [3 7]", b.Len, b.Lengths)
	}
	b, err = EncodeBatch(tk, []string{strings.Repeat("hello ", 100)}, 20, WithPadToMultiple(8))
	if err != nil || b.Len != 20 {
		t.Errorf("capped: Len = %v, err %v; want 20", b.Len, err)
	}
	b, err = EncodePairBatch(tk, []string{"hello"}, []string{"world"}, 64, WithPadToMultiple(4))
	if err != nil || b.Len != 8 || b.Lengths[0] != 5 {
		t.Errorf("pair: Len = %d, Lengths %v, err %v; want 8, [5]", b.Len, b.Lengths, err)
	}
}

func TestBatchErrors(t *testing.T) {
	tk := Default()
	cases := map[string]func() error{
		"maxLen below specials": func() error { _, err := EncodeBatch(tk, []string{"a"}, 1); return err },
		"maxLen below marker": func() error {
			_, err := EncodeBatch(tk, []string{"a"}, 2, WithMarker(QueryMarker))
			return err
		},
		"unknown marker":   func() error { _, err := EncodeBatch(tk, []string{"a"}, 8, WithMarker("[Q]")); return err },
		"unknown pad":      func() error { _, err := EncodeBatch(tk, []string{"a"}, 8, WithPadToken("<pad>")); return err },
		"negative padding": func() error { _, err := EncodeBatch(tk, []string{"a"}, 8, WithPadToMultiple(-1)); return err },
		"empty batch":      func() error { _, err := EncodeBatch(tk, nil, 8); return err },
		"id out of range":  func() error { _, err := BatchFromIDs(tk, [][]int{{30522}}, 8); return err },
		"pair lengths":     func() error { _, err := EncodePairBatch(tk, []string{"a"}, nil, 8); return err },
		"pair marker": func() error {
			_, err := EncodePairBatch(tk, []string{"a"}, []string{"b"}, 8, WithMarker(QueryMarker))
			return err
		},
		"pair maxLen": func() error { _, err := EncodePairBatch(tk, []string{"a"}, []string{"b"}, 2); return err },
		"pair truncation": func() error {
			_, err := EncodePairBatch(tk, []string{"a"}, []string{"b"}, 8, WithTruncation(7))
			return err
		},
		"pair id":        func() error { _, err := PairBatchFromIDs(tk, [][]int{{1}}, [][]int{{-1}}, 8); return err },
		"lengths maxLen": func() error { _, err := Lengths(tk, []string{"a"}, 1); return err },
	}
	for name, f := range cases {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "tokenizer: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
}
