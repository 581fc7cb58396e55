package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/scbench/scbench/anndata"
)

func infoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info", "[--json] PATH",
		`Describes an AnnData zarr store (format 2 or 3) from its metadata, without
reading X: cells, genes, non-zeros, the zarr format, the chunking and codecs of
X's arrays, and the obs and var columns.

With --json it prints one JSON object (keys cells, genes, nnz, zarr_format,
x_encoding, x, obs, var, ...), for scripts.`, stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(fs, "want exactly one store path, got %d arguments", fs.NArg())
	}
	f, err := anndata.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	in, err := f.Info()
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(in)
	}
	printInfo(stdout, in)
	return nil
}

func printInfo(w io.Writer, in *anndata.Info) {
	fmt.Fprintf(w, "%s\n", in.Path)
	nnz := "dense"
	if in.NNZ >= 0 {
		nnz = fmt.Sprintf("%d non-zeros (%.1f per cell, density %.4f)", in.NNZ,
			float64(in.NNZ)/float64(max(in.Cells, 1)), float64(in.NNZ)/float64(max(int64(in.Cells)*int64(in.Genes), 1)))
	}
	fmt.Fprintf(w, "  %d cells x %d genes, %s\n", in.Cells, in.Genes, nnz)
	fmt.Fprintf(w, "  zarr format %d, X stored as %s\n\n", in.ZarrFormat, in.XEncoding)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  array\tdtype\tshape\tchunks\tcodec")
	for _, a := range in.X {
		chunks := dims(a.Chunks)
		if len(a.InnerChunks) > 0 {
			chunks += " (inner " + dims(a.InnerChunks) + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", a.Name, a.DType, dims(a.Shape), chunks, a.Codec)
	}
	tw.Flush()
	for _, fr := range []struct {
		name, index string
		cols        []anndata.ColumnInfo
	}{{"obs", in.ObsIndex, in.Obs}, {"var", in.VarIndex, in.Var}} {
		fmt.Fprintf(w, "\n  %s (index %q): ", fr.name, fr.index)
		if len(fr.cols) == 0 {
			fmt.Fprintln(w, "no columns")
			continue
		}
		parts := make([]string, len(fr.cols))
		for i, c := range fr.cols {
			desc := c.Kind
			if c.Categories > 0 {
				desc = fmt.Sprintf("%s, %d categories", c.Kind, c.Categories)
			} else if c.DType != "" {
				desc = fmt.Sprintf("%s %s", c.Kind, c.DType)
			}
			parts[i] = fmt.Sprintf("%s (%s)", c.Name, desc)
		}
		fmt.Fprintln(w, strings.Join(parts, ", "))
	}
}

func dims(s []int64) string {
	p := make([]string, len(s))
	for i, v := range s {
		p[i] = fmt.Sprint(v)
	}
	return strings.Join(p, " x ")
}
