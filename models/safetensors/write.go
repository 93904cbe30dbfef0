package safetensors

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mimicry-ir/mimicry/internal/files"
)

// Write encodes tensors and metadata in the safetensors format to w.
//
// The output is deterministic: the header lists "__metadata__" first (keys
// sorted, left out when metadata is empty), then the tensors sorted by name,
// compact JSON with the field order and string escaping of the reference
// writer, padded with spaces to a multiple of 8 bytes; the data follow in the
// same name order. The order of tensors in the slice does not matter.
//
// The tensors are checked before anything is written: names must be valid
// UTF-8, unique and not "__metadata__", dtypes known, dimensions
// non-negative and len(Data) == product(Shape)*DTypeSize(DType). Metadata
// keys and values must be valid UTF-8.
func Write(w io.Writer, tensors []*Tensor, metadata map[string]string) error {
	header, ordered, err := encodeHeader(tensors, metadata)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	bw.Write(n[:])
	bw.Write(header)
	for _, t := range ordered {
		bw.Write(t.Data)
	}
	if err := bw.Flush(); err != nil { // bufio keeps the first write error
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// WriteFile writes tensors and metadata to path as [Write] does, atomically:
// the bytes go to a temporary file in the same directory, which is synced and
// then renamed over path, so that path never holds a partial file and nothing
// is left behind on error. A new file gets permissions 0644; an existing one
// keeps its own. Errors about the tensors are *Error values naming path.
func WriteFile(path string, tensors []*Tensor, metadata map[string]string) error {
	// Validate first, so that bad input does not even create the temporary file.
	if _, _, err := encodeHeader(tensors, metadata); err != nil {
		return withPath(err, path)
	}
	f, err := files.Create(path, 0)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := Write(f, tensors, metadata); err != nil {
		f.Abort()
		return withPath(err, path)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// encodeHeader checks the tensors and metadata and returns the padded JSON
// header and the tensors in the order their data is laid out.
func encodeHeader(tensors []*Tensor, metadata map[string]string) ([]byte, []*Tensor, error) {
	ordered := make([]*Tensor, 0, len(tensors))
	seen := make(map[string]bool, len(tensors))
	for i, t := range tensors {
		if t == nil {
			return nil, nil, &Error{Field: "name", Msg: fmt.Sprintf("tensor #%d is nil", i)}
		}
		switch {
		case t.Name == metaKey:
			return nil, nil, &Error{Tensor: t.Name, Field: "name", Msg: "reserved for the metadata entry"}
		case !utf8.ValidString(t.Name):
			return nil, nil, &Error{Tensor: t.Name, Field: "name", Msg: "not valid UTF-8"}
		case seen[t.Name]:
			return nil, nil, &Error{Tensor: t.Name, Field: "name", Msg: "duplicate tensor name"}
		}
		seen[t.Name] = true
		if _, err := t.check(); err != nil {
			return nil, nil, err
		}
		ordered = append(ordered, t)
	}
	slices.SortFunc(ordered, func(a, b *Tensor) int { return strings.Compare(a.Name, b.Name) })

	var b []byte
	b = append(b, '{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, nil, &Error{Field: metaKey, Msg: fmt.Sprintf("entry %q is not valid UTF-8", k)}
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = appendString(b, metaKey)
		b = append(b, ":{"...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, metadata[k])
		}
		b = append(b, '}')
	}
	var offset uint64
	for i, t := range ordered {
		if i > 0 || len(metadata) > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t.Name)
		b = append(b, `:{"dtype":`...)
		b = appendString(b, t.DType)
		b = append(b, `,"shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendUint(b, offset, 10)
		b = append(b, ',')
		offset += uint64(len(t.Data))
		b = strconv.AppendUint(b, offset, 10)
		b = append(b, "]}"...)
	}
	b = append(b, '}')
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	return b, ordered, nil
}

// appendString appends s as a JSON string escaped as serde_json, the
// reference writer's encoder, does: only '"', '\\' and control characters.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
