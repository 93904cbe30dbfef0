package main

import (
	"errors"
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
	fs := newFlags("report", "report [flags] RUNDIR", fmt.Sprintf(`
Reads RUNDIR/report.json (written by `+"`mimicry pipeline --out RUNDIR`"+`) and writes RUNDIR/%s: the
report's tables and figures in one page that opens offline (figures inline, no script).`, report.HTMLFile))
	notebooks := fs.String("notebooks", "", "link the executed notebooks' pages (*.html) in `DIR`, e.g. build/notebooks")
	dirs, err := parseInterleaved(fs.FlagSet, args)
	if err != nil {
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
