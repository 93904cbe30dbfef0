package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/mimicry-ir/mimicry/distill/report"
)

func init() {
	register(&command{
		name:    "report",
		summary: "render a run's report.json as one offline HTML page (tables, figures, notebook links)",
		run:     runReport,
	})
}

// runReport implements `mimicry report`.
func runReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	notebooks := fs.String("notebooks", "", "link the executed notebooks' pages (*.html) in `DIR`, e.g. build/notebooks")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: mimicry report [flags] RUNDIR\n\n"+
			"Reads RUNDIR/report.json (written by `mimicry pipeline --out RUNDIR`) and writes RUNDIR/%s: the\n"+
			"report's tables and figures in one page that opens offline (figures inline, no script).\n\nFlags:\n", report.HTMLFile)
		fs.PrintDefaults()
	}
	dirs, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if len(dirs) != 1 {
		fs.Usage()
		return errors.New("want one run directory")
	}
	page, err := report.WriteHTML(dirs[0], *notebooks)
	if err != nil {
		return err
	}
	fmt.Println(page)
	return nil
}
