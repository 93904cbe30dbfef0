package datasets

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// ParseError reports malformed input: the file (or stream name), the 1-based line and what is wrong.
// Its message reads "path:line: what is wrong", the convention of compilers and editors, so a user can
// jump straight to the offending line. Line 0 means the problem concerns the file as a whole.
type ParseError struct {
	// Path names the file or stream that was being read.
	Path string
	// Line is the 1-based line number; 0 when no single line is at fault.
	Line int
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error, if any (a JSON syntax error, an I/O error, ...).
	Err error
}

// Error returns "path:line: msg" (or "path: msg" when Line is 0).
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// MaxLineBytes is the longest line any reader of this package accepts (64 MiB). Longer lines are
// reported as a ParseError instead of exhausting memory. Readers hold at most one line at a time, so
// this is also the bound on their working memory.
const MaxLineBytes = 64 << 20

// newParseError builds a ParseError; msg is formatted with args.
func newParseError(path string, line int, format string, args ...any) *ParseError {
	return &ParseError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// lineScanner reads a stream line by line, dropping "\n", "\r\n" (and any further '\r' before the line
// end) and a leading UTF-8 byte-order mark,
// and counts lines for error messages.
type lineScanner struct {
	sc   *bufio.Scanner
	name string
	line int
	err  error
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func newLineScanner(r io.Reader, name string) *lineScanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	return &lineScanner{sc: sc, name: name}
}

// Scan advances to the next line; it returns false at the end of input or on error (see Err).
func (s *lineScanner) Scan() bool {
	if s.err != nil {
		return false
	}
	if !s.sc.Scan() {
		if err := s.sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				s.err = newParseError(s.name, s.line+1, "line longer than %d bytes", MaxLineBytes)
			} else {
				s.err = &ParseError{Path: s.name, Line: s.line + 1, Msg: "read error: " + err.Error(), Err: err}
			}
		}
		return false
	}
	s.line++
	return true
}

// Bytes returns the current line without its line terminator. The slice is only valid until the next
// call to Scan.
func (s *lineScanner) Bytes() []byte {
	b := s.sc.Bytes()
	if s.line == 1 {
		b = bytes.TrimPrefix(b, utf8BOM)
	}
	// bufio.ScanLines drops the '\r' of "\r\n"; carriage returns left at the end ("\r\r\n", or a last
	// line without "\n") are line-end debris too. Dropping them all means no field read from a file ends
	// with '\r', which the writers rely on.
	return bytes.TrimRight(b, "\r")
}

// Text returns the current line as a string.
func (s *lineScanner) Text() string { return string(s.Bytes()) }

// Line returns the 1-based number of the current line.
func (s *lineScanner) Line() int { return s.line }

// Err returns the error that stopped scanning, if any, as a *ParseError.
func (s *lineScanner) Err() error { return s.err }

// Errorf returns a ParseError at the current line.
func (s *lineScanner) Errorf(format string, args ...any) error {
	return newParseError(s.name, s.line, format, args...)
}

// Wrap returns a ParseError at the current line that wraps err, prefixed with msg.
func (s *lineScanner) Wrap(err error, msg string) error {
	if msg != "" {
		msg += ": "
	}
	return &ParseError{Path: s.name, Line: s.line, Msg: msg + err.Error(), Err: err}
}

// isBlank reports whether b holds only spaces and tabs (formats whose columns are separated by runs of
// whitespace, and JSON lines).
func isBlank(b []byte) bool {
	return len(bytes.Trim(b, " \t")) == 0
}

// validID reports whether id can stand in a whitespace- or tab-separated column and read back the same:
// not empty, no ASCII white space.
func validID(id string) bool {
	return id != "" && !strings.ContainsAny(id, " \t\r\n\v\f")
}

// hasSpace reports whether s holds any Unicode white space (what strings.Fields splits on).
func hasSpace(s string) bool { return strings.ContainsFunc(s, unicode.IsSpace) }

// bomEscaper writes a second UTF-8 byte-order mark in front of content that starts with one, because
// the readers drop a leading byte-order mark: a text or id that starts with U+FEFF then reads back
// unchanged.
type bomEscaper struct {
	w       io.Writer
	started bool
}

// Write passes p on, preceded by a byte-order mark when p starts the content with one.
func (b *bomEscaper) Write(p []byte) (int, error) {
	if !b.started && len(p) > 0 {
		b.started = true
		if bytes.HasPrefix(p, utf8BOM) {
			if _, err := b.w.Write(utf8BOM); err != nil {
				return 0, err
			}
		}
	}
	return b.w.Write(p)
}

// isBlankTSV reports whether b holds only spaces: in tab-separated formats a tab is a column separator,
// so a line of tabs is a line of empty columns, not a blank line.
func isBlankTSV(b []byte) bool {
	return len(bytes.Trim(b, " ")) == 0
}
