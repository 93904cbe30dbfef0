// Package safetensors reads and writes Hugging Face's safetensors format
// (https://github.com/huggingface/safetensors), the format BERT checkpoints
// are published in.
//
// A safetensors file is an 8-byte little-endian unsigned header length N, N
// bytes of JSON header, then one byte buffer holding every tensor's data:
//
//	{"__metadata__":{"format":"pt"},
//	 "bert.pooler.dense.bias":{"dtype":"F32","shape":[768],"data_offsets":[0,3072]}, ...}
//
// Offsets are relative to the start of the byte buffer, tensors are stored
// row-major and little-endian, and together they must cover the buffer
// exactly, without gaps or overlaps. The reference writer pads the header
// with spaces to a multiple of 8 bytes; [Write] does the same.
//
// [ReadFile] and [Parse] validate the whole file before returning it and
// report every problem as an [*Error] naming the file, the tensor and the
// header field concerned. They never panic, whatever the input.
package safetensors

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// The element types (the "dtype" header field) this package knows, by their
// names in the header. Tensor.DType holds one of these.
const (
	BOOL   = "BOOL"    // boolean, one byte (0 is false)
	U8     = "U8"      // unsigned 8-bit integer
	I8     = "I8"      // signed 8-bit integer
	F8E5M2 = "F8_E5M2" // 8-bit float, 5 exponent and 2 mantissa bits
	F8E4M3 = "F8_E4M3" // 8-bit float, 4 exponent and 3 mantissa bits
	F8E8M0 = "F8_E8M0" // 8-bit exponent-only scale
	I16    = "I16"     // signed 16-bit integer
	U16    = "U16"     // unsigned 16-bit integer
	F16    = "F16"     // IEEE 754 half precision
	BF16   = "BF16"    // bfloat16: the top half of a float32
	I32    = "I32"     // signed 32-bit integer
	U32    = "U32"     // unsigned 32-bit integer
	F32    = "F32"     // IEEE 754 single precision
	F64    = "F64"     // IEEE 754 double precision
	I64    = "I64"     // signed 64-bit integer
	U64    = "U64"     // unsigned 64-bit integer
	C64    = "C64"     // complex number of two float32s
)

// metaKey is the header key of the metadata entry.
const metaKey = "__metadata__"

// dtypeSizes gives the size in bytes of one element of each known dtype.
var dtypeSizes = map[string]int{
	BOOL: 1, U8: 1, I8: 1, F8E5M2: 1, F8E4M3: 1, F8E8M0: 1,
	I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4,
	F64: 8, I64: 8, U64: 8, C64: 8,
}

// DTypeSize returns the size in bytes of one element of dtype, and false when
// the dtype is unknown to this package. The sub-byte dtypes of recent
// safetensors versions (F4, F6_E2M3, F6_E3M2) count as unknown.
func DTypeSize(dtype string) (int, bool) {
	n, ok := dtypeSizes[dtype]
	return n, ok
}

// Tensor is one named tensor of a safetensors file.
type Tensor struct {
	// Name is the key of the tensor in the header, e.g. "bert.embeddings.word_embeddings.weight".
	Name string
	// DType is the element type as the header spells it: "F32", "F16", "BF16", "I64", ...
	DType string
	// Shape lists the dimensions, outermost first; an empty shape is a scalar.
	Shape []int
	// Data holds the elements, row-major and little-endian, len(Data) ==
	// product(Shape) * DTypeSize(DType). Tensors returned by [ReadFile] and
	// [Parse] share one buffer: treat Data as read-only, or copy it first.
	Data []byte
}

// NumElements returns the product of the dimensions of t.Shape (1 for a scalar).
// It does not look at t.Data.
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// String describes t without its data, e.g. `"w" F32 [2 3]`.
func (t *Tensor) String() string {
	return fmt.Sprintf("%q %s %v", t.Name, t.DType, t.Shape)
}

// check verifies that t's dtype is known, its shape valid and its data of the
// size the two imply, and returns the element size.
func (t *Tensor) check() (int, error) {
	size, ok := DTypeSize(t.DType)
	if !ok {
		return 0, &Error{Tensor: t.Name, Field: "dtype", Msg: fmt.Sprintf("unknown dtype %q", t.DType)}
	}
	nbytes, err := byteSize(t.Shape, size)
	if err != nil {
		return 0, &Error{Tensor: t.Name, Field: "shape", Msg: err.Error()}
	}
	if uint64(len(t.Data)) != nbytes {
		return 0, &Error{Tensor: t.Name, Field: "data", Msg: fmt.Sprintf(
			"has %d bytes, want %d (shape %v × %d-byte %s)", len(t.Data), nbytes, t.Shape, size, t.DType)}
	}
	return size, nil
}

// byteSize returns product(shape)*elemSize, or an error for a negative
// dimension or a size that does not fit in 63 bits.
func byteSize(shape []int, elemSize int) (uint64, error) {
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d == 0 {
			return 0, nil
		}
	}
	n := uint64(elemSize)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("shape %v is too large (over 2^63 bytes)", shape)
		}
		n = lo
	}
	return n, nil
}

// Error reports a malformed safetensors file, or tensors that cannot be
// written. Every error that [Parse], [ReadFile], [Write] and [WriteFile] find
// in their input is an *Error; I/O failures are returned as they come, wrapped.
type Error struct {
	// Path is the file read or written; empty for in-memory data.
	Path string
	// Tensor is the name of the tensor concerned; empty when the problem is not
	// about one tensor.
	Tensor string
	// Field is the part of the file at fault: "header length", "header",
	// "__metadata__", "name", "dtype", "shape", "data_offsets" or "data".
	Field string
	// Msg describes the problem.
	Msg string
	// Err is the underlying error, such as a JSON syntax error; may be nil.
	Err error
}

// Error formats e as "safetensors: PATH: tensor "NAME": FIELD: MSG: ERR",
// leaving out the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("safetensors: ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Tensor != "" {
		b.WriteString("tensor ")
		b.WriteString(strconv.Quote(e.Tensor))
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// withPath sets the path of err when it is an *Error without one.
func withPath(err error, path string) error {
	if e, ok := err.(*Error); ok && e.Path == "" {
		e.Path = path
	}
	return err
}
