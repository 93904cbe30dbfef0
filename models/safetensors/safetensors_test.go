package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// le64 returns n as 8 little-endian bytes.
func le64(n uint64) []byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n)
	return b[:]
}

// f32bytes encodes values as little-endian float32s.
func f32bytes(values ...float32) []byte {
	var b []byte
	for _, v := range values {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// u16bytes encodes values as little-endian uint16s.
func u16bytes(values ...uint16) []byte {
	var b []byte
	for _, v := range values {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

// concat joins byte slices.
func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// writeBytes encodes with Write into memory.
func writeBytes(t *testing.T, tensors []*Tensor, metadata map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tensors, metadata); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// TestReferenceLayout checks Write against files laid out by hand as the
// reference (Rust) writer lays them out, including test vectors of its own
// test suite, and that Parse reads them back.
func TestReferenceLayout(t *testing.T) {
	tests := []struct {
		name     string
		tensors  []*Tensor
		metadata map[string]string
		want     []byte
	}{
		{
			name:    "one F32 vector, 54-byte header padded with 2 spaces",
			tensors: []*Tensor{NewFloat32("a", []int{2}, []float32{1, -2.5})},
			want: concat(le64(56),
				[]byte(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  `),
				[]byte{0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0}),
		},
		{
			name:     "metadata comes first",
			tensors:  []*Tensor{NewFloat32("a", []int{2}, []float32{1, -2.5})},
			metadata: map[string]string{"format": "pt"},
			want: concat(le64(88),
				[]byte(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   `),
				f32bytes(1, -2.5)),
		},
		{
			name:    "rust test_serialization_forced_alignement",
			tensors: []*Tensor{NewFloat32("attn0", []int{1, 1, 2, 3}, []float32{0, 1, 2, 3, 4, 5})},
			want: concat([]byte{72, 0, 0, 0, 0, 0, 0, 0},
				[]byte(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `),
				[]byte{0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64}),
		},
		{
			name:    "rust test_serialization (no padding needed)",
			tensors: []*Tensor{NewFloat32("attn.0", []int{1, 2, 3}, []float32{0, 1, 2, 3, 4, 5})},
			want: concat([]byte{64, 0, 0, 0, 0, 0, 0, 0},
				[]byte(`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`),
				f32bytes(0, 1, 2, 3, 4, 5)),
		},
		{
			name: "rust test_empty",
			want: []byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '},
		},
		{
			name:     "rust test_empty with metadata",
			metadata: map[string]string{"framework": "pt"},
			want:     concat(le64(40), []byte(`{"__metadata__":{"framework":"pt"}}     `)),
		},
		{
			name:    "names escaped as serde_json does",
			tensors: []*Tensor{{Name: "q\"\\\b\f\n\r\t\x01\x1f\x7fé\u2028", DType: U8, Shape: []int{0}}},
			want: concat(le64(88),
				[]byte(`{"q\"\\\b\f\n\r\t\u0001\u001f`+"\x7fé\u2028"+`":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}   `)),
		},
		{
			name: "tensors sorted by name, offsets follow that order",
			tensors: []*Tensor{
				{Name: "b", DType: I64, Shape: []int{}, Data: le64(7)},
				{Name: "a", DType: U8, Shape: []int{3}, Data: []byte{1, 2, 3}},
			},
			want: concat(le64(112),
				[]byte(`{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"I64","shape":[],"data_offsets":[3,11]}}      `),
				[]byte{1, 2, 3}, le64(7)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.want) >= 8 {
				if n := binary.LittleEndian.Uint64(tc.want); n%8 != 0 || int(n) > len(tc.want)-8 {
					t.Fatalf("bad test vector: header length %d", n)
				}
			}
			got := writeBytes(t, tc.tensors, tc.metadata)
			if !bytes.Equal(got, tc.want) {
				t.Errorf("Write:\n got %q\nwant %q", got, tc.want)
			}
			f, err := Parse(tc.want)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(tc.metadata) != len(f.Metadata) {
				t.Errorf("metadata = %v, want %v", f.Metadata, tc.metadata)
			}
			for k, v := range tc.metadata {
				if f.Metadata[k] != v {
					t.Errorf("metadata[%q] = %q, want %q", k, f.Metadata[k], v)
				}
			}
			checkSameTensors(t, f.Tensors(), tc.tensors)
		})
	}
}

// checkSameTensors fails unless got and want hold the same tensors, bit for bit.
func checkSameTensors(t *testing.T, got, want []*Tensor) {
	t.Helper()
	want = slices.Clone(want)
	slices.SortFunc(want, func(a, b *Tensor) int { return strings.Compare(a.Name, b.Name) })
	if len(got) != len(want) {
		t.Fatalf("got %d tensors %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("tensor %d: got %v data %x, want %v data %x", i, g, g.Data, w, w.Data)
		}
	}
}

// sampleTensors covers every dtype, scalars, empty tensors and awkward names.
func sampleTensors() []*Tensor {
	nan := math.Float32frombits(0x7fc01234) // a NaN with a payload, which must survive
	return []*Tensor{
		NewFloat32("bert.embeddings.word_embeddings.weight", []int{3, 2}, []float32{0.5, -1, float32(math.Inf(1)), nan, 1e-45, -0}),
		NewFloat32("scalar", nil, []float32{3.25}),
		NewFloat32("empty", []int{0, 4}, nil),
		NewInt64("ids", []int{2, 2}, []int64{-1, 0, math.MaxInt64, math.MinInt64}),
		{Name: "half", DType: F16, Shape: []int{2}, Data: u16bytes(0x3c00, 0xc100)},
		{Name: "brain", DType: BF16, Shape: []int{1, 2}, Data: u16bytes(0x3f80, 0xc020)},
		{Name: "double", DType: F64, Shape: []int{1}, Data: le64(math.Float64bits(-2.5))},
		{Name: "i32", DType: I32, Shape: []int{1}, Data: []byte{0xff, 0xff, 0xff, 0xff}},
		{Name: "mask", DType: BOOL, Shape: []int{3}, Data: []byte{1, 0, 1}},
		{Name: "bytes", DType: U8, Shape: []int{5}, Data: []byte{0, 1, 127, 128, 255}},
		{Name: "i8", DType: I8, Shape: []int{1}, Data: []byte{0x80}},
		{Name: "u16", DType: U16, Shape: []int{1}, Data: []byte{0xff, 0xff}},
		{Name: "i16", DType: I16, Shape: []int{1}, Data: []byte{0x00, 0x80}},
		{Name: "u32", DType: U32, Shape: []int{1}, Data: []byte{0xff, 0xff, 0xff, 0xff}},
		{Name: "u64", DType: U64, Shape: []int{1}, Data: le64(1 << 40)},
		{Name: "c64", DType: C64, Shape: []int{1}, Data: f32bytes(1, 2)},
		{Name: "fp8", DType: F8E4M3, Shape: []int{2}, Data: []byte{0x38, 0xb8}},
		{Name: "fp8b", DType: F8E5M2, Shape: []int{1}, Data: []byte{0x3c}},
		{Name: "scale", DType: F8E8M0, Shape: []int{1}, Data: []byte{127}},
		{Name: "", DType: U8, Shape: []int{1}, Data: []byte{42}},
		{Name: "quote\"back\\slash\ttab\x01ctl\u2028é日本", DType: U8, Shape: []int{0}, Data: []byte{}},
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	tensors := sampleTensors()
	metadata := map[string]string{"format": "pt", "z": "last", "a": "first \"quoted\"\n", "日本": ""}
	if err := WriteFile(path, tensors, metadata); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(first); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkSameTensors(t, f.Tensors(), tensors)
	if len(f.Metadata) != len(metadata) {
		t.Errorf("metadata = %v, want %v", f.Metadata, metadata)
	}
	for k, v := range metadata {
		if f.Metadata[k] != v {
			t.Errorf("metadata[%q] = %q, want %q", k, f.Metadata[k], v)
		}
	}
	names := f.Names()
	if !slices.IsSorted(names) || len(names) != len(tensors) || f.Len() != len(tensors) {
		t.Errorf("Names() = %q: not sorted or wrong count", names)
	}
	if _, ok := f.Get("nope"); ok {
		t.Error(`Get("nope") found a tensor`)
	}
	w, ok := f.Get("bert.embeddings.word_embeddings.weight")
	if !ok {
		t.Fatal("Get: missing tensor")
	}
	got, err := w.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []float32{0.5, -1, float32(math.Inf(1)), math.Float32frombits(0x7fc01234), 1e-45, -0} {
		if math.Float32bits(got[i]) != math.Float32bits(v) {
			t.Errorf("value %d = %v (%#x), want %v (%#x)", i, got[i], math.Float32bits(got[i]), v, math.Float32bits(v))
		}
	}

	// Writing what was read, in another order, gives the same bytes.
	rev := f.Tensors()
	slices.Reverse(rev)
	path2 := filepath.Join(dir, "again.safetensors")
	if err := WriteFile(path2, rev, f.Metadata); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(path2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("rewriting changed the file:\n%q\n%q", first, second)
	}
	// Overwriting an existing file replaces it and leaves no temporary file.
	if err := WriteFile(path, []*Tensor{NewFloat32("x", []int{1}, []float32{1})}, nil); err != nil {
		t.Fatal(err)
	}
	if f, err := ReadFile(path); err != nil || f.Len() != 1 {
		t.Errorf("after overwrite: %v, %v", f, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want 2: %v", len(entries), entries)
	}
}

func TestDataDoesNotAlias(t *testing.T) {
	data := writeBytes(t, []*Tensor{
		NewFloat32("a", []int{1}, []float32{1}),
		NewFloat32("b", []int{1}, []float32{2}),
	}, nil)
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.Get("a")
	_ = append(a.Data, 9, 9, 9, 9) // must reallocate, not overwrite b
	b, _ := f.Get("b")
	if v, _ := b.Float32s(); v[0] != 2 {
		t.Errorf("appending to a's data changed b to %v", v)
	}
}

func TestFloat16(t *testing.T) {
	tests := []struct {
		bits uint16
		want float32
	}{
		{0x3c00, 1},
		{0xc100, -2.5},
		{0x7bff, 65504},                         // largest finite
		{0xfbff, -65504},                        // most negative finite
		{0x0400, 1.0 / 16384},                   // smallest normal, 2^-14
		{0x0001, 1.0 / (1 << 24)},               // smallest subnormal, 2^-24
		{0x8001, -1.0 / (1 << 24)},              // negative subnormal
		{0x03ff, 1023.0 / (1 << 24)},            // largest subnormal
		{0x3555, 0.333251953125},                // nearest to 1/3
		{0x0000, 0},                             // +0
		{0x7c00, float32(math.Inf(1))},          // +Inf
		{0xfc00, float32(math.Inf(-1))},         // -Inf
		{0x8000, float32(math.Copysign(0, -1))}, // -0
	}
	for _, tc := range tests {
		got := float16ToFloat32(tc.bits)
		if math.Float32bits(got) != math.Float32bits(tc.want) {
			t.Errorf("F16 %#04x = %v, want %v", tc.bits, got, tc.want)
		}
	}
	for _, nan := range []uint16{0x7e00, 0xfe00, 0x7c01, 0x7fff} {
		if got := float16ToFloat32(nan); !math.IsNaN(float64(got)) {
			t.Errorf("F16 %#04x = %v, want NaN", nan, got)
		}
	}
	// Every half value against an independent float64 formula.
	for h := range 1 << 16 {
		sign, exp, mant := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch exp {
		case 0:
			want = math.Ldexp(float64(mant), -24)
		case 0x1f:
			want = math.Inf(1)
			if mant != 0 {
				want = math.NaN()
			}
		default:
			want = math.Ldexp(float64(1024+mant), exp-25)
		}
		if sign == 1 {
			want = -want
		}
		got := float64(float16ToFloat32(uint16(h)))
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) || math.Signbit(got) != math.Signbit(want) && !math.IsNaN(want) {
			t.Fatalf("F16 %#04x = %v, want %v", h, got, want)
		}
	}
}

func TestFloat32sConversions(t *testing.T) {
	inf := float32(math.Inf(1))
	tests := []struct {
		tensor *Tensor
		want   []float32
	}{
		{
			&Tensor{Name: "f16", DType: F16, Shape: []int{2, 3}, Data: u16bytes(0x3c00, 0xc100, 0x7bff, 0x0001, 0x7c00, 0xfc00)},
			[]float32{1, -2.5, 65504, 1.0 / (1 << 24), inf, -inf},
		},
		{
			// BF16 cannot hold 65504: 0x477f is 65280 and 0x4780 is 65536.
			&Tensor{Name: "bf16", DType: BF16, Shape: []int{7}, Data: u16bytes(0x3f80, 0xc020, 0x477f, 0x4780, 0x0001, 0x7f80, 0xff80)},
			[]float32{1, -2.5, 65280, 65536, math.Float32frombits(1 << 16), inf, -inf},
		},
		{
			&Tensor{Name: "f64", DType: F64, Shape: []int{5}, Data: concat(
				le64(math.Float64bits(1)), le64(math.Float64bits(-2.5)), le64(math.Float64bits(65504)),
				le64(math.Float64bits(1e300)), le64(math.Float64bits(1e-300)))},
			[]float32{1, -2.5, 65504, inf, 0},
		},
		{
			&Tensor{Name: "scalar", DType: F32, Shape: []int{}, Data: f32bytes(-2.5)},
			[]float32{-2.5},
		},
	}
	for _, tc := range tests {
		got, err := tc.tensor.Float32s()
		if err != nil {
			t.Errorf("%s: %v", tc.tensor.Name, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %d values, want %d", tc.tensor.Name, len(got), len(tc.want))
			continue
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(tc.want[i]) {
				t.Errorf("%s[%d] = %v, want %v", tc.tensor.Name, i, got[i], tc.want[i])
			}
		}
	}
	for _, nan := range []*Tensor{
		{Name: "f16", DType: F16, Shape: []int{1}, Data: u16bytes(0x7e00)},
		{Name: "bf16", DType: BF16, Shape: []int{1}, Data: u16bytes(0x7fc0)},
		{Name: "f64", DType: F64, Shape: []int{1}, Data: le64(math.Float64bits(math.NaN()))},
	} {
		if got, err := nan.Float32s(); err != nil || !math.IsNaN(float64(got[0])) {
			t.Errorf("%s NaN: got %v, %v", nan.Name, got, err)
		}
	}
}

func TestInt64s(t *testing.T) {
	tests := []struct {
		tensor *Tensor
		want   []int64
	}{
		{NewInt64("i64", []int{3}, []int64{-5, 0, math.MaxInt64}), []int64{-5, 0, math.MaxInt64}},
		{&Tensor{Name: "i32", DType: I32, Shape: []int{2}, Data: []byte{0xfe, 0xff, 0xff, 0xff, 7, 0, 0, 0}}, []int64{-2, 7}},
		{&Tensor{Name: "u32", DType: U32, Shape: []int{1}, Data: []byte{0xff, 0xff, 0xff, 0xff}}, []int64{math.MaxUint32}},
		{&Tensor{Name: "i16", DType: I16, Shape: []int{1}, Data: []byte{0xff, 0xff}}, []int64{-1}},
		{&Tensor{Name: "u16", DType: U16, Shape: []int{1}, Data: []byte{0xff, 0xff}}, []int64{65535}},
		{&Tensor{Name: "i8", DType: I8, Shape: []int{2}, Data: []byte{0x80, 0x7f}}, []int64{-128, 127}},
		{&Tensor{Name: "u8", DType: U8, Shape: []int{2}, Data: []byte{0x80, 0x7f}}, []int64{128, 127}},
		{&Tensor{Name: "bool", DType: BOOL, Shape: []int{3}, Data: []byte{0, 1, 2}}, []int64{0, 1, 1}},
		{&Tensor{Name: "u64", DType: U64, Shape: []int{1}, Data: le64(math.MaxInt64)}, []int64{math.MaxInt64}},
	}
	for _, tc := range tests {
		got, err := tc.tensor.Int64s()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.tensor.Name, got, err, tc.want)
		}
	}
}

func TestAccessorErrors(t *testing.T) {
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"Int64s of F32", func() error { _, err := NewFloat32("w", []int{1}, []float32{1}).Int64s(); return err },
			`safetensors: tensor "w": dtype: F32 cannot be read as int64 (want an integer dtype or BOOL)`},
		{"Float32s of I64", func() error { _, err := NewInt64("ids", []int{1}, []int64{1}).Float32s(); return err },
			`safetensors: tensor "ids": dtype: I64 cannot be read as float32 (want F32, F16, BF16 or F64)`},
		{"U64 overflow", func() error {
			_, err := (&Tensor{Name: "u", DType: U64, Shape: []int{2}, Data: concat(le64(1), le64(1<<63))}).Int64s()
			return err
		}, `safetensors: tensor "u": data: U64 element 1 is 9223372036854775808, too large for int64`},
		{"shape mismatch", func() error { _, err := NewFloat32("w", []int{2, 2}, []float32{1, 2, 3}).Float32s(); return err },
			`safetensors: tensor "w": data: has 12 bytes, want 16 (shape [2 2] × 4-byte F32)`},
		{"unknown dtype", func() error { _, err := (&Tensor{Name: "x", DType: "F4"}).Float32s(); return err },
			`safetensors: tensor "x": dtype: unknown dtype "F4"`},
		{"negative dim", func() error { _, err := (&Tensor{Name: "x", DType: F32, Shape: []int{-1}}).Float32s(); return err },
			`safetensors: tensor "x": shape: negative dimension -1 in shape [-1]`},
	}
	for _, tc := range tests {
		err := tc.call()
		var e *Error
		if !errors.As(err, &e) || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.want)
		}
	}
}
