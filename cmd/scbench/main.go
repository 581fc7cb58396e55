// Command scbench runs scanpy's single-cell workflow at atlas scale, out of
// core, on CPUs or GPUs.
//
// Usage:
//
//	scbench <command> [flags]
//
// The commands are:
//
//	run       run the workflow (QC through the UMAP picture) on a store
//	generate  write a synthetic 10x-like dataset as an AnnData zarr store
//	convert   convert a 10x Matrix Market directory into an AnnData zarr store
//	info      describe an AnnData zarr store
//	devices   list the compute backends and devices found
//	bench     reproduce the notebook's timings
//
// Run "scbench <command> -h" for a command's flags. This package parses
// flags and prints; every algorithm lives in the library packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: its name, a one-line summary and its body.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "run the workflow (QC, filter, normalize, log1p, HVG, scale, PCA, ...) on a store", runCmd},
		{"generate", "write a synthetic 10x-like dataset as an AnnData zarr store", generateCmd},
		{"convert", "convert a 10x Matrix Market directory into an AnnData zarr store", convertCmd},
		{"info", "describe an AnnData zarr store (cells, genes, nnz, chunking, codecs, columns)", infoCmd},
		{"devices", "list the compute backends and devices found", devicesCmd},
		{"bench", "reproduce the notebook's timings on generated data", benchCmd},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `scbench runs scanpy's single-cell RNA-seq workflow at atlas scale, out of core.

Usage:

	scbench <command> [flags]

Commands:

`)
	for _, c := range commands() {
		fmt.Fprintf(w, "\t%-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Run "scbench <command> -h" for the flags of a command.

Examples:

	scbench run                                  # the workflow on a small generated dataset
	scbench generate --cells 100000 --out big.zarr
	scbench info --json big.zarr
	scbench convert filtered_feature_bc_matrix/ pbmc.zarr
`)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// dispatch runs the command named by args[0] and returns the exit code.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(stderr, "scbench %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "scbench: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

// errUsage marks errors that have already been reported with the
// command's usage; dispatch exits with status 2 for them.
var errUsage = errors.New("usage")

// newFlagSet returns a flag set for a command whose usage text starts with
// synopsis and description, followed by the flags.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: scbench %s %s\n\n%s\n\nFlags:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, turning a flag error into errUsage (already printed).
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// usageError prints msg and the command's usage, and returns errUsage.
func usageError(fs *flag.FlagSet, format string, a ...any) error {
	fmt.Fprintf(fs.Output(), "scbench %s: %s\n\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return errUsage
}
