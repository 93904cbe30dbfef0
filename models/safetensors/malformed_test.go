package safetensors

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// file builds a safetensors file from a header, used as is (no padding), and
// a data buffer of bufLen zero bytes.
func file(header string, bufLen int) []byte {
	return concat(le64(uint64(len(header))), []byte(header), make([]byte, bufLen))
}

// f32 is the header entry of an F32 tensor.
func f32(shape, offsets string) string {
	return `{"dtype":"F32","shape":` + shape + `,"data_offsets":` + offsets + `}`
}

// malformedCases are files Parse must reject, with the error message (after
// the "safetensors: " prefix and, for ReadFile, the path), the tensor and
// the field it must name.
var malformedCases = []struct {
	name          string
	data          []byte
	tensor, field string
	msg           string
}{
	{"empty file", nil, "", "header length",
		"header length: file truncated: 0 bytes, need at least 8 for the header length"},
	{"truncated length", []byte{8, 0, 0, 0, 0}, "", "header length",
		"header length: file truncated: 5 bytes, need at least 8 for the header length"},
	{"header longer than file", concat(le64(100), []byte(`{"a":1}`)), "", "header length",
		"header length: 100 is larger than the 7 bytes that follow it (file truncated?)"},
	{"header length over limit", concat(le64(1<<62), []byte(`{}`)), "", "header length",
		"header length: 4611686018427387904 exceeds the 100000000-byte limit (file has 2 bytes after the length)"},
	{"zero header length", le64(0), "", "header", "header: empty (header length is 0)"},
	{"not UTF-8", file("{\"a\xff\":1}", 0), "", "header", "header: not valid UTF-8"},
	{"not an object", file(`[1]`, 0), "", "header", `header: starts with '[', want '{'`},
	{"leading space", file(` {}`, 0), "", "header", `header: starts with ' ', want '{'`},
	{"invalid JSON", file(`{"a":`+f32(`[2]`, `[0,8]`)+`,}`, 8), "", "header",
		"header: invalid JSON: invalid character '}' looking for beginning of object key string"},
	{"bad JSON in unknown field", file(`{"a":{"extra":[1,}}`, 0), "a", "header",
		`tensor "a": header: invalid JSON: invalid character '}' looking for beginning of value`},
	{"JSON cut short", file(`{"a":{"dtype":"F32"`, 0), "a", "header", `tensor "a": header: invalid JSON: unexpected end of header: EOF`},
	{"garbage after object", file(`{} x`, 0), "", "header",
		"header: invalid JSON: invalid character 'x' looking for beginning of value"},
	{"second object", file(`{}{}`, 0), "", "header", "header: unexpected { after the JSON object"},
	{"entry not an object", file(`{"a":[0,8]}`, 8), "a", "header",
		`tensor "a": header: entry is an array, want an object with dtype, shape and data_offsets`},
	{"unknown dtype", file(`{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, 8), "a", "dtype",
		`tensor "a": dtype: unknown dtype "F33"`},
	{"sub-byte dtype", file(`{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}`, 1), "a", "dtype",
		`tensor "a": dtype: unknown dtype "F4"`},
	{"dtype not a string", file(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, 4), "a", "dtype",
		`tensor "a": dtype: is the number 4, want a string`},
	{"dtype twice", file(`{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4), "a", "dtype",
		`tensor "a": dtype: appears twice`},
	{"missing dtype", file(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, 4), "a", "dtype", `tensor "a": dtype: missing`},
	{"missing shape", file(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, 4), "a", "shape", `tensor "a": shape: missing`},
	{"missing offsets", file(`{"a":{"dtype":"F32","shape":[1]}}`, 4), "a", "data_offsets", `tensor "a": data_offsets: missing`},
	{"negative dimension", file(`{"a":`+f32(`[-1]`, `[0,4]`)+`}`, 4), "a", "shape",
		`tensor "a": shape: element 0 is -1, want a non-negative integer below 2^63`},
	{"fractional dimension", file(`{"a":`+f32(`[2.0]`, `[0,8]`)+`}`, 8), "a", "shape",
		`tensor "a": shape: element 0 is 2.0, want a non-negative integer below 2^63`},
	{"shape not an array", file(`{"a":`+f32(`2`, `[0,8]`)+`}`, 8), "a", "shape",
		`tensor "a": shape: is the number 2, want an array of integers`},
	{"shape overflow", file(`{"a":`+f32(`[4611686018427387904,4]`, `[0,8]`)+`}`, 8), "a", "shape",
		`tensor "a": shape: shape [4611686018427387904 4] is too large (over 2^63 bytes)`},
	{"three offsets", file(`{"a":`+f32(`[2]`, `[0,4,8]`)+`}`, 8), "a", "data_offsets",
		`tensor "a": data_offsets: has 3 numbers, want 2 (begin, end)`},
	{"offset beyond uint64", file(`{"a":`+f32(`[2]`, `[0,18446744073709551616]`)+`}`, 8), "a", "data_offsets",
		`tensor "a": data_offsets: element 1 is 18446744073709551616, want a non-negative integer below 2^64`},
	{"size mismatch", file(`{"a":`+f32(`[3]`, `[0,8]`)+`}`, 8), "a", "data_offsets",
		`tensor "a": data_offsets: [0, 8] span 8 bytes, but shape [3] of F32 needs 12`},
	{"end before begin", file(`{"a":`+f32(`[0]`, `[8,0]`)+`}`, 8), "a", "data_offsets",
		`tensor "a": data_offsets: [8, 0] ends before it begins`},
	{"truncated data", file(`{"a":`+f32(`[2]`, `[0,8]`)+`}`, 5), "a", "data_offsets",
		`tensor "a": data_offsets: [0, 8] extend past the end of the 5-byte data buffer (file truncated?)`},
	{"offsets out of range", file(`{"a":`+f32(`[2]`, `[18446744073709551608,0]`)+`}`, 8), "a", "data_offsets",
		`tensor "a": data_offsets: [18446744073709551608, 0] ends before it begins`},
	{"overlap", file(`{"a":`+f32(`[2]`, `[0,8]`)+`,"b":`+f32(`[2]`, `[4,12]`)+`}`, 12), "b", "data_offsets",
		`tensor "b": data_offsets: [4, 12] overlap tensor "a" at [0, 8]`},
	{"same offsets twice", file(`{"b":`+f32(`[2]`, `[0,8]`)+`,"a":`+f32(`[2]`, `[0,8]`)+`}`, 8), "b", "data_offsets",
		`tensor "b": data_offsets: [0, 8] overlap tensor "a" at [0, 8]`},
	{"gap", file(`{"a":`+f32(`[2]`, `[0,8]`)+`,"b":`+f32(`[2]`, `[12,20]`)+`}`, 20), "b", "data_offsets",
		`tensor "b": data_offsets: [12, 20] leave bytes [8, 12) of the data buffer unused (tensors must cover it contiguously)`},
	{"not starting at 0", file(`{"a":`+f32(`[2]`, `[4,12]`)+`}`, 12), "a", "data_offsets",
		`tensor "a": data_offsets: [4, 12] leave bytes [0, 4) of the data buffer unused (tensors must cover it contiguously)`},
	{"trailing bytes", file(`{"a":`+f32(`[2]`, `[0,8]`)+`}`, 12), "", "data",
		`data: bytes [8, 12) at the end of the data buffer belong to no tensor`},
	{"data without tensors", file(`{}`, 3), "", "data",
		`data: bytes [0, 3) at the end of the data buffer belong to no tensor`},
	{"duplicate name", file(`{"a":`+f32(`[1]`, `[0,4]`)+`,"a":`+f32(`[1]`, `[4,8]`)+`}`, 8), "a", "name",
		`tensor "a": name: duplicate tensor name`},
	{"duplicate metadata", file(`{"__metadata__":{},"__metadata__":{}}`, 0), "", "__metadata__",
		`__metadata__: appears twice in the header`},
	{"metadata not an object", file(`{"__metadata__":["pt"]}`, 0), "", "__metadata__",
		`__metadata__: is an array, want an object of strings`},
	{"metadata value not a string", file(`{"__metadata__":{"epochs":3}}`, 0), "", "__metadata__",
		`__metadata__: value of "epochs" is the number 3, want a string`},
	{"metadata duplicate key", file(`{"__metadata__":{"k":"1","k":"2"}}`, 0), "", "__metadata__",
		`__metadata__: duplicate key "k"`},
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range malformedCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.data)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want an *Error", err, err)
			}
			if want := "safetensors: " + tc.msg; err.Error() != want {
				t.Errorf("message\n got %s\nwant %s", err, want)
			}
			if e.Tensor != tc.tensor || e.Field != tc.field || e.Path != "" {
				t.Errorf("got tensor %q field %q path %q, want tensor %q field %q", e.Tensor, e.Field, e.Path, tc.tensor, tc.field)
			}
		})
	}
}

func TestReadFileErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	for i, tc := range malformedCases[:3] {
		path := filepath.Join(dir, tc.name+".safetensors")
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadFile(path)
		if want := "safetensors: " + path + ": " + tc.msg; err == nil || err.Error() != want {
			t.Errorf("case %d: got %v, want %s", i, err, want)
		}
	}
	_, err := ReadFile(filepath.Join(dir, "missing.safetensors"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("missing file: got %v", err)
	}
}

// TestParseLenient checks inputs the reference reader accepts.
func TestParseLenient(t *testing.T) {
	for name, data := range map[string][]byte{
		"null metadata":        file(`{"__metadata__":null}`, 0),
		"unknown field":        file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":{"x":[1,2]}}}`, 4),
		"padding whitespace":   file("{\"a\":"+f32(`[1]`, `[0,4]`)+"} \t\r\n ", 4),
		"offsets out of order": file(`{"b":`+f32(`[1]`, `[4,8]`)+`,"a":`+f32(`[1]`, `[0,4]`)+`}`, 8),
		"zero-size tensors":    file(`{"z":`+f32(`[0]`, `[4,4]`)+`,"a":`+f32(`[1]`, `[0,4]`)+`,"y":`+f32(`[3,0]`, `[0,0]`)+`}`, 4),
		"escaped name":         file(`{"\u00e9\n":`+f32(`[1]`, `[0,4]`)+`}`, 4),
	} {
		f, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if f.Metadata == nil {
			t.Errorf("%s: nil Metadata", name)
		}
	}
	f, _ := Parse(file(`{"\u00e9\n":`+f32(`[1]`, `[0,4]`)+`}`, 4))
	if _, ok := f.Get("é\n"); !ok {
		t.Errorf("escaped name not decoded: %q", f.Names())
	}
}

func TestWriteErrors(t *testing.T) {
	ok := NewFloat32("ok", []int{1}, []float32{1})
	tests := []struct {
		name    string
		tensors []*Tensor
		meta    map[string]string
		want    string
	}{
		{"duplicate", []*Tensor{ok, NewFloat32("ok", []int{1}, []float32{2})}, nil, `tensor "ok": name: duplicate tensor name`},
		{"reserved", []*Tensor{NewFloat32("__metadata__", []int{1}, []float32{2})}, nil, `tensor "__metadata__": name: reserved for the metadata entry`},
		{"bad UTF-8 name", []*Tensor{NewFloat32("a\xff", []int{1}, []float32{2})}, nil, `tensor "a\xff": name: not valid UTF-8`},
		{"nil", []*Tensor{ok, nil}, nil, `name: tensor #1 is nil`},
		{"unknown dtype", []*Tensor{{Name: "x", DType: "float32", Shape: []int{1}, Data: make([]byte, 4)}}, nil, `tensor "x": dtype: unknown dtype "float32"`},
		{"size mismatch", []*Tensor{ok, NewFloat32("w", []int{2, 3}, []float32{1, 2})}, nil, `tensor "w": data: has 8 bytes, want 24 (shape [2 3] × 4-byte F32)`},
		{"negative dim", []*Tensor{{Name: "x", DType: U8, Shape: []int{-2}, Data: nil}}, nil, `tensor "x": shape: negative dimension -2 in shape [-2]`},
		{"bad UTF-8 metadata", []*Tensor{ok}, map[string]string{"k": "\xff"}, `__metadata__: entry "k" is not valid UTF-8`},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		path := filepath.Join(dir, "out.safetensors")
		if err := os.WriteFile(path, []byte("previous"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := WriteFile(path, tc.tensors, tc.meta)
		var e *Error
		if want := "safetensors: " + path + ": " + tc.want; !errors.As(err, &e) || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", tc.name, err, want)
		}
		// The previous file is untouched and no temporary file remains.
		if b, _ := os.ReadFile(path); string(b) != "previous" {
			t.Errorf("%s: file now holds %q", tc.name, b)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("%s: directory holds %v", tc.name, entries)
		}
	}
}

func TestWriteFileKeepsModeAndFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	tensors := []*Tensor{NewFloat32("a", []int{1}, []float32{1})}
	if err := WriteFile(path, tensors, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("new file mode: %v, %v", st, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, tensors, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("overwritten file mode: %v, %v", st, err)
	}
	// A missing directory is an I/O error, and nothing is created.
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir.safetensors"), tensors, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory: got %v", err)
	}
	// Renaming over a directory fails after the data was written: the
	// temporary file must be removed.
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "x.safetensors", "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(sub, "x.safetensors"), tensors, nil); err == nil {
		t.Error("writing over a non-empty directory succeeded")
	}
	if entries, _ := os.ReadDir(sub); len(entries) != 1 {
		t.Errorf("temporary file left behind: %v", entries)
	}
}

// failWriter fails after accepting limit bytes.
type failWriter struct{ limit int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errors.New("disk full")
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestWriteReportsWriterError(t *testing.T) {
	err := Write(&failWriter{limit: 10}, []*Tensor{NewFloat32("a", []int{1}, []float32{1})}, nil)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("got %v, want the writer's error", err)
	}
}
