package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// NewFloat32 returns an F32 tensor holding a copy of shape and of values.
// A mismatch between shape and len(values) is not checked here; [Write],
// [WriteFile] and [Tensor.Float32s] report it.
func NewFloat32(name string, shape []int, values []float32) *Tensor {
	data := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	return &Tensor{Name: name, DType: F32, Shape: cloneShape(shape), Data: data}
}

// NewInt64 returns an I64 tensor holding a copy of shape and of values.
// A mismatch between shape and len(values) is not checked here; [Write],
// [WriteFile] and [Tensor.Int64s] report it.
func NewInt64(name string, shape []int, values []int64) *Tensor {
	data := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(data[8*i:], uint64(v))
	}
	return &Tensor{Name: name, DType: I64, Shape: cloneShape(shape), Data: data}
}

// cloneShape copies shape, keeping a scalar's shape non-nil.
func cloneShape(shape []int) []int {
	if shape == nil {
		return []int{}
	}
	return slices.Clone(shape)
}

// Float32s decodes the elements of an F32, F16, BF16 or F64 tensor as float32,
// in row-major order. F32 values are returned bit for bit; F16 and BF16 widen
// exactly (subnormals, infinities and NaNs included); F64 values are rounded
// to the nearest float32 (overflowing to ±Inf). Other dtypes, and data whose
// size does not match the shape, are errors.
func (t *Tensor) Float32s() ([]float32, error) {
	size, err := t.check()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(t.Data)/size)
	d := t.Data
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = float16ToFloat32(binary.LittleEndian.Uint16(d[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = bfloat16ToFloat32(binary.LittleEndian.Uint16(d[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:])))
		}
	default:
		return nil, &Error{Tensor: t.Name, Field: "dtype", Msg: fmt.Sprintf("%s cannot be read as float32 (want F32, F16, BF16 or F64)", t.DType)}
	}
	return out, nil
}

// Int64s decodes the elements of an integer or BOOL tensor as int64, in
// row-major order (BOOL: 0 for a zero byte, 1 otherwise). U64 values above
// math.MaxInt64, float dtypes, and data whose size does not match the shape
// are errors.
func (t *Tensor) Int64s() ([]int64, error) {
	size, err := t.check()
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(t.Data)/size)
	d := t.Data
	switch t.DType {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(d[8*i:]))
		}
	case U64:
		for i := range out {
			v := binary.LittleEndian.Uint64(d[8*i:])
			if v > math.MaxInt64 {
				return nil, &Error{Tensor: t.Name, Field: "data", Msg: fmt.Sprintf("U64 element %d is %d, too large for int64", i, v)}
			}
			out[i] = int64(v)
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(d[4*i:])))
		}
	case U32:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint32(d[4*i:]))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(d[2*i:])))
		}
	case U16:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint16(d[2*i:]))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(d[i]))
		}
	case U8:
		for i := range out {
			out[i] = int64(d[i])
		}
	case BOOL:
		for i := range out {
			if d[i] != 0 {
				out[i] = 1
			}
		}
	default:
		return nil, &Error{Tensor: t.Name, Field: "dtype", Msg: fmt.Sprintf("%s cannot be read as int64 (want an integer dtype or BOOL)", t.DType)}
	}
	return out, nil
}

// float16ToFloat32 widens an IEEE 754 half-precision value exactly.
func float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0: // zero or subnormal: mant × 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(v) | sign)
	case 0x1f: // infinity or NaN, keeping the NaN payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// bfloat16ToFloat32 widens a bfloat16 value, which is the top half of a float32.
func bfloat16ToFloat32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}
