package main

import (
	"context"
	"errors"
	"os"
	"os/signal"

	"github.com/mimicry-ir/mimicry/kernel"
)

func init() {
	register(&command{
		name:    "kernel export",
		summary: "check notebooks executed elsewhere (e.g. in JupyterLab) and write their HTML",
		run:     runKernelExport,
	})
}

// runKernelExport implements `mimicry kernel export`.
func runKernelExport(args []string) error {
	fs := newFlags("kernel export", "kernel export [flags] NOTEBOOK.ipynb|DIR...", `
Reads executed notebooks (saved from JupyterLab, or by `+"`mimicry kernel run`"+`), writes <name>.html
into --out (no script from outside; formulas typeset to SVG when `+"`npm ci --prefix kernel/browser`"+`
was run), and fails when any cell failed: an error output, a panic, a non-zero exit status,
or a code cell that was not executed.`)
	out := fs.String("out", kernel.DefaultOutDir, "`DIR` for the HTML")
	paths, err := parseInterleaved(fs.FlagSet, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		fs.Usage()
		return errors.New("no notebook given")
	}
	notebooks, err := kernel.FindNotebooks(paths)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	_, err = kernel.Export(ctx, notebooks, kernel.RunOptions{OutDir: *out, Log: os.Stdout})
	return err
}
