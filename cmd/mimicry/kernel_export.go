package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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
	fs := flag.NewFlagSet("kernel export", flag.ContinueOnError)
	out := fs.String("out", kernel.DefaultOutDir, "`DIR` for the HTML")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: mimicry kernel export [flags] NOTEBOOK.ipynb|DIR...\n\n"+
			"Reads executed notebooks (saved from JupyterLab, or by `mimicry kernel run`), writes <name>.html\n"+
			"into --out (no script from outside; formulas typeset to SVG when `npm ci --prefix kernel/browser`\n"+
			"was run), and fails when any cell failed: an error output, a panic, a non-zero exit status,\n"+
			"or a code cell that was not executed.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
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
