package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header accepted, in bytes: the limit of
// the reference implementation (100 MB).
const MaxHeaderSize = 100_000_000

// File is the parsed content of a safetensors file.
type File struct {
	// Metadata holds the free-form string pairs of the "__metadata__" header
	// entry (e.g. {"format": "pt"}); empty, never nil, when there are none.
	Metadata map[string]string

	tensors map[string]*Tensor
	names   []string // sorted
}

// Names returns the names of the tensors in the file, sorted.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Len returns the number of tensors in the file.
func (f *File) Len() int { return len(f.names) }

// Get returns the tensor called name, and false when the file has none.
func (f *File) Get(name string) (*Tensor, bool) {
	t, ok := f.tensors[name]
	return t, ok
}

// Tensors returns the tensors of the file sorted by name, ready to be passed
// to [WriteFile].
func (f *File) Tensors() []*Tensor {
	out := make([]*Tensor, len(f.names))
	for i, name := range f.names {
		out[i] = f.tensors[name]
	}
	return out
}

// ReadFile reads and validates the safetensors file at path. The whole file is
// read into memory; the tensors' Data slices point into that one buffer.
// Errors about the content are *Error values naming path.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, withPath(err, path)
	}
	return f, nil
}

// Parse validates and decodes a whole safetensors file held in data. The
// returned tensors' Data slices alias data (each with its capacity capped at
// its length, so appending to one never overwrites another). Every error is
// an *Error.
func Parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, &Error{Field: "header length", Msg: fmt.Sprintf(
			"file truncated: %d bytes, need at least 8 for the header length", len(data))}
	}
	n := binary.LittleEndian.Uint64(data[:8])
	rest := uint64(len(data) - 8)
	if n > MaxHeaderSize {
		return nil, &Error{Field: "header length", Msg: fmt.Sprintf(
			"%d exceeds the %d-byte limit (file has %d bytes after the length)", n, MaxHeaderSize, rest)}
	}
	if n > rest {
		return nil, &Error{Field: "header length", Msg: fmt.Sprintf(
			"%d is larger than the %d bytes that follow it (file truncated?)", n, rest)}
	}
	header := data[8 : 8+n]
	buf := data[8+n:]
	infos, metadata, err := parseHeader(header, uint64(len(buf)))
	if err != nil {
		return nil, err
	}
	if err := checkCoverage(infos, uint64(len(buf))); err != nil {
		return nil, err
	}
	f := &File{Metadata: metadata, tensors: make(map[string]*Tensor, len(infos)), names: make([]string, 0, len(infos))}
	for _, info := range infos {
		b, e := info.offsets[0], info.offsets[1]
		f.tensors[info.name] = &Tensor{Name: info.name, DType: info.dtype, Shape: info.shape, Data: buf[b:e:e]}
		f.names = append(f.names, info.name)
	}
	slices.Sort(f.names)
	return f, nil
}

// tensorInfo is one tensor entry of the header.
type tensorInfo struct {
	name    string
	dtype   string
	shape   []int
	offsets [2]uint64
}

// parseHeader decodes and checks the JSON header. bufLen is the size of the
// byte buffer after the header, against which offsets are checked. The
// entries come back in header order.
func parseHeader(header []byte, bufLen uint64) ([]tensorInfo, map[string]string, error) {
	if len(header) == 0 {
		return nil, nil, &Error{Field: "header", Msg: "empty (header length is 0)"}
	}
	if !utf8.Valid(header) {
		return nil, nil, &Error{Field: "header", Msg: "not valid UTF-8"}
	}
	if header[0] != '{' {
		return nil, nil, &Error{Field: "header", Msg: fmt.Sprintf("starts with %q, want '{'", header[0])}
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // the '{' checked above
		return nil, nil, jsonError("header", "", err)
	}
	var infos []tensorInfo
	metadata := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		key, err := objectKey(dec, "header", "")
		if err != nil {
			return nil, nil, err
		}
		if seen[key] {
			if key == metaKey {
				return nil, nil, &Error{Field: metaKey, Msg: "appears twice in the header"}
			}
			return nil, nil, &Error{Tensor: key, Field: "name", Msg: "duplicate tensor name"}
		}
		seen[key] = true
		if key == metaKey {
			if err := parseMetadata(dec, metadata); err != nil {
				return nil, nil, err
			}
			continue
		}
		info, err := parseTensorInfo(dec, key, bufLen)
		if err != nil {
			return nil, nil, err
		}
		infos = append(infos, info)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, jsonError("header", "", err)
	}
	// Only whitespace (the reference writer's padding) may follow.
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, jsonError("header", "", err)
		}
		return nil, nil, &Error{Field: "header", Msg: fmt.Sprintf("unexpected %v after the JSON object", tok)}
	}
	return infos, metadata, nil
}

// parseMetadata decodes the value of "__metadata__": null or an object of strings.
func parseMetadata(dec *json.Decoder, metadata map[string]string) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonError(metaKey, "", err)
	}
	if tok == nil {
		return nil
	}
	if tok != json.Delim('{') {
		return &Error{Field: metaKey, Msg: fmt.Sprintf("is %s, want an object of strings", describe(tok))}
	}
	for dec.More() {
		key, err := objectKey(dec, metaKey, "")
		if err != nil {
			return err
		}
		if _, dup := metadata[key]; dup {
			return &Error{Field: metaKey, Msg: fmt.Sprintf("duplicate key %q", key)}
		}
		tok, err := dec.Token()
		if err != nil {
			return jsonError(metaKey, "", err)
		}
		value, ok := tok.(string)
		if !ok {
			return &Error{Field: metaKey, Msg: fmt.Sprintf("value of %q is %s, want a string", key, describe(tok))}
		}
		metadata[key] = value
	}
	_, err = dec.Token()
	return jsonError(metaKey, "", err)
}

// parseTensorInfo decodes the header entry of tensor name and checks it on
// its own: known dtype, valid shape, offsets inside the buffer and spanning
// exactly the bytes the shape and dtype call for.
func parseTensorInfo(dec *json.Decoder, name string, bufLen uint64) (tensorInfo, error) {
	info := tensorInfo{name: name}
	tok, err := dec.Token()
	if err != nil {
		return info, jsonError("header", name, err)
	}
	if tok != json.Delim('{') {
		return info, &Error{Tensor: name, Field: "header", Msg: fmt.Sprintf(
			"entry is %s, want an object with dtype, shape and data_offsets", describe(tok))}
	}
	var haveDType, haveShape, haveOffsets bool
	for dec.More() {
		key, err := objectKey(dec, "header", name)
		if err != nil {
			return info, err
		}
		var have *bool
		switch key {
		case "dtype":
			have = &haveDType
		case "shape":
			have = &haveShape
		case "data_offsets":
			have = &haveOffsets
		default:
			// Unknown fields are ignored, as the reference reader does.
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return info, jsonError("header", name, err)
			}
			continue
		}
		if *have {
			return info, &Error{Tensor: name, Field: key, Msg: "appears twice"}
		}
		*have = true
		switch key {
		case "dtype":
			tok, err := dec.Token()
			if err != nil {
				return info, jsonError(key, name, err)
			}
			s, ok := tok.(string)
			if !ok {
				return info, &Error{Tensor: name, Field: key, Msg: fmt.Sprintf("is %s, want a string", describe(tok))}
			}
			info.dtype = s
		case "shape":
			dims, err := intArray(dec, name, key, strconv.IntSize-1)
			if err != nil {
				return info, err
			}
			info.shape = make([]int, len(dims))
			for i, d := range dims {
				info.shape[i] = int(d)
			}
		case "data_offsets":
			offs, err := intArray(dec, name, key, 64)
			if err != nil {
				return info, err
			}
			if len(offs) != 2 {
				return info, &Error{Tensor: name, Field: key, Msg: fmt.Sprintf("has %d numbers, want 2 (begin, end)", len(offs))}
			}
			info.offsets = [2]uint64{offs[0], offs[1]}
		}
	}
	if _, err := dec.Token(); err != nil {
		return info, jsonError("header", name, err)
	}
	switch {
	case !haveDType:
		return info, &Error{Tensor: name, Field: "dtype", Msg: "missing"}
	case !haveShape:
		return info, &Error{Tensor: name, Field: "shape", Msg: "missing"}
	case !haveOffsets:
		return info, &Error{Tensor: name, Field: "data_offsets", Msg: "missing"}
	}
	size, ok := DTypeSize(info.dtype)
	if !ok {
		return info, &Error{Tensor: name, Field: "dtype", Msg: fmt.Sprintf("unknown dtype %q", info.dtype)}
	}
	nbytes, err := byteSize(info.shape, size)
	if err != nil {
		return info, &Error{Tensor: name, Field: "shape", Msg: err.Error()}
	}
	b, e := info.offsets[0], info.offsets[1]
	if e < b {
		return info, &Error{Tensor: name, Field: "data_offsets", Msg: fmt.Sprintf("[%d, %d] ends before it begins", b, e)}
	}
	if e > bufLen {
		return info, &Error{Tensor: name, Field: "data_offsets", Msg: fmt.Sprintf(
			"[%d, %d] extend past the end of the %d-byte data buffer (file truncated?)", b, e, bufLen)}
	}
	if e-b != nbytes {
		return info, &Error{Tensor: name, Field: "data_offsets", Msg: fmt.Sprintf(
			"[%d, %d] span %d bytes, but shape %v of %s needs %d", b, e, e-b, info.shape, info.dtype, nbytes)}
	}
	return info, nil
}

// checkCoverage verifies that the tensors tile the data buffer exactly: no
// overlap, no gap, no trailing bytes. infos have already been checked one by one.
func checkCoverage(infos []tensorInfo, bufLen uint64) error {
	sorted := slices.Clone(infos)
	slices.SortFunc(sorted, func(x, y tensorInfo) int {
		if c := cmp.Compare(x.offsets[0], y.offsets[0]); c != 0 {
			return c
		}
		if c := cmp.Compare(x.offsets[1], y.offsets[1]); c != 0 {
			return c
		}
		return cmp.Compare(x.name, y.name)
	})
	var cursor uint64
	for i, info := range sorted {
		b, e := info.offsets[0], info.offsets[1]
		if b < cursor {
			// Sorted by begin, the tensors before i tile [0, cursor), so the one
			// just before i ends at cursor and is the one overlapped.
			p := sorted[i-1]
			return &Error{Tensor: info.name, Field: "data_offsets", Msg: fmt.Sprintf(
				"[%d, %d] overlap tensor %q at [%d, %d]", b, e, p.name, p.offsets[0], p.offsets[1])}
		}
		if b > cursor {
			return &Error{Tensor: info.name, Field: "data_offsets", Msg: fmt.Sprintf(
				"[%d, %d] leave bytes [%d, %d) of the data buffer unused (tensors must cover it contiguously)", b, e, cursor, b)}
		}
		cursor = e
	}
	if cursor != bufLen {
		return &Error{Field: "data", Msg: fmt.Sprintf(
			"bytes [%d, %d) at the end of the data buffer belong to no tensor", cursor, bufLen)}
	}
	return nil
}

// objectKey reads the next key of a JSON object.
func objectKey(dec *json.Decoder, field, tensor string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", jsonError(field, tensor, err)
	}
	key, ok := tok.(string)
	if !ok { // the decoder rejects non-string keys itself; kept for safety
		return "", &Error{Tensor: tensor, Field: field, Msg: fmt.Sprintf("object key is %s", describe(tok))}
	}
	return key, nil
}

// intArray reads a JSON array of non-negative integers that fit in bitSize bits.
func intArray(dec *json.Decoder, tensor, field string, bitSize int) ([]uint64, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(field, tensor, err)
	}
	if tok != json.Delim('[') {
		return nil, &Error{Tensor: tensor, Field: field, Msg: fmt.Sprintf("is %s, want an array of integers", describe(tok))}
	}
	out := []uint64{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(field, tensor, err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, &Error{Tensor: tensor, Field: field, Msg: fmt.Sprintf("element %d is %s, want an integer", len(out), describe(tok))}
		}
		v, err := strconv.ParseUint(string(num), 10, bitSize)
		if err != nil {
			return nil, &Error{Tensor: tensor, Field: field, Msg: fmt.Sprintf(
				"element %d is %s, want a non-negative integer below 2^%d", len(out), num, bitSize)}
		}
		out = append(out, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(field, tensor, err)
	}
	return out, nil
}

// jsonError wraps a JSON decoding error; nil stays nil.
func jsonError(field, tensor string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Tensor: tensor, Field: field, Msg: "invalid JSON: unexpected end of header", Err: err}
	}
	return &Error{Tensor: tensor, Field: field, Msg: "invalid JSON", Err: err}
}

// describe names the JSON value a token starts, for error messages.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		if v == '[' {
			return "an array"
		}
		return fmt.Sprintf("%q", rune(v))
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + string(v)
	case bool:
		return fmt.Sprintf("%t", v)
	}
	return fmt.Sprintf("%v", tok)
}
