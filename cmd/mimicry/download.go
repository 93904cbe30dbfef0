package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/mimicry-ir/mimicry/datasets/download"
)

func init() {
	register(&command{
		name:    "download",
		summary: "download public collections (Cranfield, CACM, BEIR, MS MARCO ...) into the cache",
		run:     runDownload,
	})
}

// runDownload implements `mimicry download [--list] NAME...`.
func runDownload(args []string) error {
	fs := newFlags("download", "download [--list] NAME...", `
Downloads collections into the cache ($MIMICRY_CACHE, default <user cache dir>/mimicry), checks
their checksums, unpacks them and prints the --data spec that reads each one. An interrupted
download resumes where it stopped.`)
	list := fs.Bool("list", false, "list the known collections and exit")
	if err := fs.parse(args, true); err != nil {
		return err
	}
	if *list || fs.NArg() == 0 {
		dir, _ := download.CacheDir()
		fmt.Printf("cache: %s\n\n", dir)
		for _, e := range download.Registry() {
			fmt.Printf("  %-14s %s\n", e.Name, e.Description)
		}
		if fs.NArg() == 0 && !*list {
			return errors.New("name at least one collection to download")
		}
		return nil
	}
	d, err := download.New()
	if err != nil {
		return err
	}
	d.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	for _, name := range fs.Args() {
		e, err := download.Lookup(name)
		if err != nil {
			return err
		}
		path, err := d.Install(ctx, e)
		if err != nil {
			return err
		}
		if spec := e.Spec(path); spec != "" {
			fmt.Printf("%s: use --data %s\n", name, spec)
		} else {
			fmt.Printf("%s: %s\n", name, path)
		}
	}
	return nil
}
