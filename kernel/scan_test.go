package kernel

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// codeCell builds one executed code cell of an nbformat 4 notebook.
func codeCell(count any, outputs ...map[string]any) map[string]any {
	if outputs == nil {
		outputs = []map[string]any{}
	}
	return map[string]any{"cell_type": "code", "execution_count": count, "metadata": map[string]any{},
		"source": "%%\nfmt.Println(1)", "outputs": outputs}
}

func stream(name string, text any) map[string]any {
	return map[string]any{"output_type": "stream", "name": name, "text": text}
}

func notebookJSON(t *testing.T, cells ...map[string]any) []byte {
	t.Helper()
	all := append([]map[string]any{{"cell_type": "markdown", "metadata": map[string]any{}, "source": "# title"}}, cells...)
	data, err := json.Marshal(map[string]any{"nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{}, "cells": all})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestScan(t *testing.T) {
	skipTagged := codeCell(nil)
	skipTagged["metadata"] = map[string]any{"tags": []string{"skip-execution"}}
	emptyUnexecuted := codeCell(nil)
	emptyUnexecuted["source"] = []string{"  \n", ""}

	cases := []struct {
		name string
		cell map[string]any
		want []string // reasons; nil: the cell is clean
	}{
		{"clean", codeCell(1, stream("stdout", "hello\n"), map[string]any{"output_type": "display_data", "data": map[string]any{"text/html": "<b>x</b>"}}), nil},
		{"warning on stderr", codeCell(1, stream("stderr", "W1127 slow backend\n")), nil},
		{"panic text on stdout only", codeCell(1, stream("stdout", "panic: is a word we teach\nexit status 2\n")), nil},
		{"panic", codeCell(2, stream("stderr", []string{"panic: boom\n", "\n", "goroutine 1 [running]:\n", "main.main()\n", "exit status 2\n"})),
			[]string{"panic: boom", "exit status 2"}},
		{"panic split across outputs", codeCell(2, stream("stderr", "pan"), stream("stdout", "x\n"), stream("stderr", "ic: split\n")),
			[]string{"panic: split"}},
		{"goroutine trace without the panic line", codeCell(2, stream("stderr", "goroutine 7 [running]:\nmain.f()\n")),
			[]string{"goroutine trace: goroutine 7 [running]:"}},
		{"fatal runtime error", codeCell(3, stream("stderr", "fatal error: concurrent map writes\n")), []string{"fatal error: concurrent map writes"}},
		{"os.Exit(3)", codeCell(4, stream("stderr", "exit status 3\n")), []string{"exit status 3"}},
		{"killed", codeCell(4, stream("stderr", "signal: killed\n")), []string{"signal: killed"}},
		{"interrupted", codeCell(4, stream("stderr", "^C\nsignal: interrupt\n")), []string{"signal: interrupt"}},
		{"coloured", codeCell(4, stream("stderr", "\x1b[31mpanic: red\x1b[0m\n")), []string{"panic: red"}},
		{"error output", codeCell(5, map[string]any{"output_type": "error", "ename": "ERROR", "evalue": "failed to run \"go build\"\nmore", "traceback": []string{}}),
			[]string{`error output: ERROR: failed to run "go build"`}},
		{"error output with only a traceback", codeCell(5, map[string]any{"output_type": "error", "ename": "", "evalue": "", "traceback": []string{"\x1b[1mundefined: x\x1b[0m"}}),
			[]string{"error output: undefined: x"}},
		{"not executed", codeCell(nil), []string{"not executed"}},
		{"skip-execution tag", skipTagged, nil},
		{"blank and not executed", emptyUnexecuted, nil},
	}
	for _, c := range cases {
		failures, err := Scan(notebookJSON(t, c.cell))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if c.want == nil {
			if len(failures) != 0 {
				t.Errorf("%s: failures %v, want none", c.name, failures)
			}
			continue
		}
		if len(failures) != 1 {
			t.Errorf("%s: failures %v, want one", c.name, failures)
			continue
		}
		if failures[0].Cell != 2 {
			t.Errorf("%s: cell %d, want 2 (the markdown cell counts)", c.name, failures[0].Cell)
		}
		if !reflect.DeepEqual(failures[0].Reasons, c.want) {
			t.Errorf("%s: reasons %q, want %q", c.name, failures[0].Reasons, c.want)
		}
	}
}

func TestScanRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"not JSON":   "{",
		"nbformat 3": `{"nbformat": 3, "worksheets": []}`,
		"bad text":   `{"nbformat": 4, "cells": [{"cell_type": "code", "source": 7, "outputs": []}]}`,
	} {
		if _, err := Scan([]byte(doc)); err == nil {
			t.Errorf("%s: Scan accepted %s", name, doc)
		}
	}
}

func TestScanLongReasonIsClipped(t *testing.T) {
	long := "panic: " + strings.Repeat("é", 400)
	failures, err := Scan(notebookJSON(t, codeCell(1, stream("stderr", long+"\n"))))
	if err != nil || len(failures) != 1 {
		t.Fatalf("failures %v, err %v", failures, err)
	}
	r := failures[0].Reasons[0]
	if len(r) > maxReason+len("…") || !strings.HasSuffix(r, "…") || !strings.HasPrefix(r, "panic: é") {
		t.Errorf("reason not clipped cleanly: %d bytes, %q…", len(r), r[:20])
	}
	if s := failures[0].String(); !strings.HasPrefix(s, "cell 2 [1]: panic: ") {
		t.Errorf("String() = %q", s)
	}
}

// TestScanRealGoNBOutput reads notebooks executed by GoNB v0.11.1 through nbconvert (kept in
// testdata/executed, produced by `mimicry kernel run kernel/testdata`): what GoNB really prints for a
// panicking cell must be found, and the clean notebook must pass.
func TestScanRealGoNBOutput(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "executed", "panic.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	failures, err := Scan(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Failure{{Cell: 3, ExecutionCount: 2, Reasons: []string{"panic: assignment to entry in nil map", "exit status 2"}}}
	if !reflect.DeepEqual(failures, want) {
		t.Errorf("panic.ipynb: failures %+v, want %+v", failures, want)
	}

	data, err = os.ReadFile(filepath.Join("testdata", "executed", "ok.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	if failures, err := Scan(data); err != nil || len(failures) != 0 {
		t.Errorf("ok.ipynb: failures %v, err %v", failures, err)
	}
}
