package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// checkParseErr is the fuzz targets' invariant for errors: a reader may reject its input, but only with
// a *ParseError that names the stream and a line of it, in the "path:line: msg" form.
func checkParseErr(t *testing.T, err error, name string, data []byte) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error is not a *ParseError: %v", err)
	}
	if pe.Path != name {
		t.Fatalf("error names %q, want %q: %v", pe.Path, name, err)
	}
	lines := bytes.Count(data, []byte{'\n'}) + 1
	if pe.Line < 1 || pe.Line > lines {
		t.Fatalf("error at line %d of a %d-line input: %v", pe.Line, lines, err)
	}
	if want := fmt.Sprintf("%s:%d: ", name, pe.Line); !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %q does not start with %q", err, want)
	}
}

// roundTrip is the fuzz targets' invariant for success: what a reader accepted, the matching writer
// writes, and reading that back gives the same records.
func roundTrip[T any](t *testing.T, got []T, encode func(*bytes.Buffer, []T) error, read func(*bytes.Buffer) ([]T, error)) {
	t.Helper()
	var buf bytes.Buffer
	if err := encode(&buf, got); err != nil {
		t.Fatalf("writer refuses what the reader accepted: %v\nrecords: %#v", err, got)
	}
	again, err := read(&buf)
	if err != nil {
		t.Fatalf("reader refuses what the writer wrote: %v\nwritten: %q", err, buf.String())
	}
	if len(got) == 0 && len(again) == 0 {
		return
	}
	if !reflect.DeepEqual(again, got) {
		t.Fatalf("round trip changed the records:\nfirst  %#v\nsecond %#v\nwritten %q", got, again, buf.String())
	}
}

// bomWriter wraps buf as WriteFileAtomic wraps its file.
func bomWriter(buf *bytes.Buffer) *bomEscaper { return &bomEscaper{w: buf} }

func TestBOMEscaper(t *testing.T) {
	var buf bytes.Buffer
	docs := []Document{{ID: "\ufeff1", Text: "x"}}
	if err := encodeMSMARCOCollection(bomWriter(&buf), docs); err != nil {
		t.Fatal(err)
	}
	var got []Document
	err := ReadMSMARCOCollection(&buf, "c", func(d Document) error { got = append(got, d); return nil })
	if err != nil || !reflect.DeepEqual(got, docs) {
		t.Fatalf("got %#v, %v", got, err)
	}
}
