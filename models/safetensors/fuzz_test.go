package safetensors

import (
	"bytes"
	"errors"
	"maps"
	"testing"
)

// FuzzRead feeds arbitrary bytes to Parse. It must never panic, must report
// every rejection as an *Error, and whatever it accepts must survive a
// write/parse round trip unchanged, written the same way twice.
//
// Seeds: the files of testdata/fuzz/FuzzRead, files written by Write and the
// malformed cases of the unit tests.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	for _, c := range []struct {
		tensors  []*Tensor
		metadata map[string]string
	}{
		{nil, nil},
		{nil, map[string]string{"format": "pt"}},
		{[]*Tensor{NewFloat32("a", []int{2}, []float32{1, -2.5})}, nil},
		{[]*Tensor{NewFloat32("w", []int{2, 2}, []float32{1, 2, 3, 4}), NewInt64("ids", []int{3}, []int64{1, 2, 3})},
			map[string]string{"format": "pt", "note": "x"}},
		{sampleTensors(), map[string]string{"k": "v"}},
	} {
		buf.Reset()
		if err := Write(&buf, c.tensors, c.metadata); err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.Clone(buf.Bytes()))
	}
	for _, c := range malformedCases {
		f.Add(c.data)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || err.Error() == "" {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			return
		}
		for _, tensor := range file.Tensors() {
			// Any error is fine; a panic is not.
			tensor.Float32s()
			tensor.Int64s()
		}
		var once, twice bytes.Buffer
		if err := Write(&once, file.Tensors(), file.Metadata); err != nil {
			t.Fatalf("cannot write back what was read: %v", err)
		}
		again, err := Parse(once.Bytes())
		if err != nil {
			t.Fatalf("cannot read back what was written: %v", err)
		}
		if !maps.Equal(again.Metadata, file.Metadata) {
			t.Fatalf("metadata changed: %v, then %v", file.Metadata, again.Metadata)
		}
		checkSameTensors(t, again.Tensors(), file.Tensors())
		if err := Write(&twice, again.Tensors(), again.Metadata); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatalf("writing is not deterministic:\n%q\n%q", once.Bytes(), twice.Bytes())
		}
	})
}
