// Command mimicry is Mimicry's command line: knowledge distillation for neural retrieval, from the
// cross-encoder teacher's answer key to ColBERT and SPLADE students.
//
// Usage:
//
//	mimicry <command> [flags]
//
// Run `mimicry help` for the list of commands. Each command lives in its own file of this package and
// registers itself with [register].
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// command is one sub-command of the mimicry CLI.
type command struct {
	// name is what the user types after "mimicry" (may contain a space, e.g. "kernel install").
	name string
	// summary is a one-line description for `mimicry help`.
	summary string
	// run executes the command with the remaining arguments. It returns an error to print and exit 1.
	run func(args []string) error
}

var commands = map[string]*command{}

// register adds a command; called from init functions of the files of this package.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("mimicry: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func usage() {
	fmt.Fprintf(os.Stderr, "mimicry — knowledge distillation for neural retrieval\n\nUsage: mimicry <command> [flags]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-18s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun `mimicry <command> -h` for the flags of a command.\n")
}

// lookup finds the longest registered command name that prefixes args (so "kernel install" wins over
// "kernel").
func lookup(args []string) (*command, []string) {
	for n := len(args); n >= 1; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c, args[n:]
		}
	}
	return nil, nil
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, rest := lookup(args)
	if c == nil {
		fmt.Fprintf(os.Stderr, "mimicry: unknown command %q\n\n", args[0])
		usage()
		return 2
	}
	if err := c.run(rest); errors.Is(err, flag.ErrHelp) {
		return 0 // -h: the command printed its usage
	} else if err != nil {
		fmt.Fprintf(os.Stderr, "mimicry %s: %v\n", c.name, err)
		return 1
	}
	return 0
}
