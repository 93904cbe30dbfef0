package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Failure is a cell of an executed notebook that failed.
type Failure struct {
	// Cell is the 1-based position of the cell in the notebook (counting every cell).
	Cell int
	// ExecutionCount is the cell's execution count, 0 when it was not executed.
	ExecutionCount int
	// Reasons are what showed the failure, e.g. "panic: boom", "exit status 2",
	// "error output: …", "not executed".
	Reasons []string
}

// String describes f in one line.
func (f Failure) String() string {
	where := fmt.Sprintf("cell %d", f.Cell)
	if f.ExecutionCount > 0 {
		where += fmt.Sprintf(" [%d]", f.ExecutionCount)
	}
	return where + ": " + strings.Join(f.Reasons, "; ")
}

// notebook is the part of the nbformat 4 document that Scan reads.
type notebook struct {
	NBFormat int    `json:"nbformat"`
	Cells    []cell `json:"cells"`
}

type cell struct {
	CellType       string          `json:"cell_type"`
	Source         multiline       `json:"source"`
	ExecutionCount *int            `json:"execution_count"`
	Outputs        []output        `json:"outputs"`
	Metadata       json.RawMessage `json:"metadata"`
}

type output struct {
	OutputType string    `json:"output_type"`
	Name       string    `json:"name"`
	Text       multiline `json:"text"`
	EName      string    `json:"ename"`
	EValue     string    `json:"evalue"`
	Traceback  []string  `json:"traceback"`
}

// multiline is nbformat's "multiline string": a string or a list of strings to concatenate.
type multiline string

// UnmarshalJSON accepts both forms.
func (m *multiline) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*m = multiline(s)
		return nil
	}
	var parts []string
	if err := json.Unmarshal(data, &parts); err != nil {
		return errors.New("expected a string or a list of strings")
	}
	*m = multiline(strings.Join(parts, ""))
	return nil
}

var (
	// ansiRE matches ANSI escape sequences (GoNB colours its annotations of stack traces).
	ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)
	// The lines, on a cell's standard error, that show its program failed. GoNB prints the error of
	// the program's exit ("exit status N", "signal: killed") after the program's own output.
	panicRE     = regexp.MustCompile(`^panic: `)
	goroutineRE = regexp.MustCompile(`^goroutine \d+ \[running\]:`)
	fatalRE     = regexp.MustCompile(`^fatal error: `)
	exitRE      = regexp.MustCompile(`^(\^C)?exit status \d+\s*$`)
	signalRE    = regexp.MustCompile(`^(\^C)?signal: [a-z]`)
)

// maxReason caps the length of one reason, so a huge error message stays readable.
const maxReason = 300

// Scan reads an executed notebook (nbformat 4 JSON) and returns its failed cells: cells with an
// error output (what a compile error or a kernel-side failure gives), cells whose standard error
// shows a Go panic, a fatal runtime error, a non-zero exit status or a signal, and non-empty code
// cells that were not executed (unless tagged "skip-execution"). An empty result means every cell
// ran cleanly.
func Scan(data []byte) ([]Failure, error) {
	var nb notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		return nil, fmt.Errorf("not a notebook: %w", err)
	}
	if nb.NBFormat != 4 {
		return nil, fmt.Errorf("nbformat %d: only nbformat 4 notebooks are read", nb.NBFormat)
	}
	var failures []Failure
	for i, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		var reasons []string
		count := 0
		if c.ExecutionCount != nil {
			count = *c.ExecutionCount
		} else if strings.TrimSpace(string(c.Source)) != "" && !hasTag(c.Metadata, "skip-execution") {
			reasons = append(reasons, "not executed")
		}
		var stderr strings.Builder
		for _, o := range c.Outputs {
			switch o.OutputType {
			case "error":
				msg := strings.TrimSpace(o.EName + ": " + firstLine(o.EValue))
				if msg == ":" {
					msg = firstLine(strings.Join(o.Traceback, "\n"))
				}
				reasons = append(reasons, "error output: "+clip(msg))
			case "stream":
				if o.Name == "stderr" {
					stderr.WriteString(string(o.Text))
				}
			}
		}
		reasons = append(reasons, stderrReasons(stderr.String())...)
		if len(reasons) > 0 {
			failures = append(failures, Failure{Cell: i + 1, ExecutionCount: count, Reasons: reasons})
		}
	}
	return failures, nil
}

// stderrReasons returns the lines of a cell's standard error that show its program failed.
func stderrReasons(text string) []string {
	var reasons []string
	sawPanic := false
	for _, line := range strings.Split(ansiRE.ReplaceAllString(text, ""), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case panicRE.MatchString(line), fatalRE.MatchString(line):
			sawPanic = true
			reasons = append(reasons, clip(line))
		case goroutineRE.MatchString(line):
			if !sawPanic {
				sawPanic = true
				reasons = append(reasons, "goroutine trace: "+clip(line))
			}
		case exitRE.MatchString(line), signalRE.MatchString(line):
			reasons = append(reasons, clip(strings.TrimSpace(strings.TrimPrefix(line, "^C"))))
		}
	}
	return reasons
}

// hasTag reports whether the cell metadata lists tag in its "tags".
func hasTag(metadata json.RawMessage, tag string) bool {
	var m struct {
		Tags []string `json:"tags"`
	}
	if len(metadata) == 0 || json.Unmarshal(metadata, &m) != nil {
		return false
	}
	for _, t := range m.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// firstLine returns the first non-blank line of s, without ANSI escapes.
func firstLine(s string) string {
	for _, line := range strings.Split(ansiRE.ReplaceAllString(s, ""), "\n") {
		if t := strings.TrimSpace(line); t != "" {
			return t
		}
	}
	return ""
}

// clip shortens s to maxReason bytes (on a rune boundary).
func clip(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
