package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/mimicry-ir/mimicry/kernel"
)

func init() {
	register(&command{
		name:    "kernel install",
		summary: "install GoNB and register the \"Go (Mimicry)\" Jupyter kernel",
		run:     runKernelInstall,
	})
	register(&command{
		name:    "kernel run",
		summary: "execute notebooks headlessly with the Mimicry kernel; fails when any cell fails",
		run:     runKernelRun,
	})
}

// parseInterleaved parses flags that may come before, between or after the positional arguments
// (`mimicry kernel run notebooks/*.ipynb --out DIR`) and returns the positional ones. "--" ends
// the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		// flag.Parse stops at the first non-flag, and consumes a "--" it stops at.
		consumedDashes := len(args) > len(rest) && args[len(args)-len(rest)-1] == "--"
		if len(rest) == 0 {
			return positional, nil
		}
		if consumedDashes {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// runKernelInstall implements `mimicry kernel install`.
func runKernelInstall(args []string) error {
	fs := newFlags("kernel install", "kernel install [flags]", fmt.Sprintf(`
Installs gonb and goimports at the versions pinned in go.mod and registers the Jupyter kernel
%q (%s), whose notebooks import this clone of Mimicry. Run it inside the repository.`, kernel.DefaultDisplayName, kernel.DefaultName))
	user := fs.Bool("user", true, "install the kernelspec in the user's Jupyter data directory ($JUPYTER_DATA_DIR, else ~/.local/share/jupyter on Linux)")
	prefix := fs.String("prefix", "", "install the kernelspec under `DIR`/share/jupyter/kernels instead (e.g. a virtualenv or /usr/local)")
	name := fs.String("name", kernel.DefaultName, "kernelspec `name` (its directory)")
	display := fs.String("display-name", kernel.DefaultDisplayName, "name shown in Jupyter's kernel chooser")
	backendFlag := fs.String("backend", "", "set GOMLX_BACKEND to `CONFIG` in the kernel (e.g. go, xla:cpu, xla:cuda); default: unset, Mimicry chooses")
	repo := fs.String("repo", "", "the Mimicry repository the notebooks import (`DIR`); default: the one containing the working directory")
	bin := fs.String("bin", "", "where go install puts gonb and goimports (`DIR`); default: $GOBIN, else $GOPATH/bin")
	rawErrors := fs.Bool("raw-errors", false, "report compile errors as plain text instead of HTML")
	if err := fs.parse(args); err != nil {
		return err
	}
	if !*user && *prefix == "" {
		return errors.New("--user=false needs --prefix DIR")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	inst, err := kernel.Install(ctx, kernel.InstallOptions{
		Repo:        *repo,
		Prefix:      *prefix,
		Name:        *name,
		DisplayName: *display,
		Backend:     *backendFlag,
		BinDir:      *bin,
		RawErrors:   *rawErrors,
		Log:         os.Stderr,
	})
	if err != nil {
		return err
	}
	printInstallHint(os.Stdout, inst, *name)
	return nil
}

// printInstallHint tells the user what to do next.
func printInstallHint(w io.Writer, inst *kernel.Installed, name string) {
	fmt.Fprintf(w, "Installed kernel %s in %s\n", name, inst.SpecDir)
	fmt.Fprintf(w, "Open the notebooks with:  jupyter lab %s/notebooks   (or: jupyter notebook)\n", inst.Repo)
	fmt.Fprintf(w, "and pick the kernel %q.\n", kernel.DefaultDisplayName)
}

// runKernelRun implements `mimicry kernel run`.
func runKernelRun(args []string) error {
	fs := newFlags("kernel run", "kernel run [flags] NOTEBOOK.ipynb|DIR...", `
Executes each notebook (a directory stands for the .ipynb files in it) with jupyter nbconvert and
the Mimicry kernel, writes <name>.ipynb and <name>.html into --out, and fails when any cell
failed: an error output, a panic, or a non-zero exit status.`)
	out := fs.String("out", kernel.DefaultOutDir, "`DIR` for the executed notebooks and their HTML")
	name := fs.String("kernel", kernel.DefaultName, "kernelspec `name` to execute with")
	timeout := fs.Duration("timeout", kernel.DefaultCellTimeout, "the longest one cell may run")
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
	if len(notebooks) == 0 {
		fmt.Printf("no notebooks in %q: nothing to run\n", paths)
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	results, err := kernel.Run(ctx, notebooks, kernel.RunOptions{
		OutDir:      *out,
		Kernel:      *name,
		CellTimeout: *timeout,
		Log:         os.Stdout,
	})
	ok := 0
	for i := range results {
		if results[i].OK() {
			ok++
		}
	}
	fmt.Printf("notebooks run: %d clean, %d with failures, in %.1fs\n", ok, len(notebooks)-ok, time.Since(start).Seconds())
	return err
}
