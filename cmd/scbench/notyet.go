package main

import (
	"context"
	"fmt"
	"io"
)

// The workflow and GPU commands arrive with their issues; until then they
// say plainly what is missing instead of pretending to work.

func devicesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("devices", "", "Lists the compute backends and devices found.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "cpu: available (pure Go)")
	fmt.Fprintln(stdout, "cuda: not available: the CUDA backend is not implemented yet")
	fmt.Fprintln(stdout, "opencl: not available: the OpenCL backend is not implemented yet")
	return nil
}

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "[flags]", "Reproduces the notebook's timings. Not available yet: it needs the workflow.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	return fmt.Errorf("bench is not implemented yet: it needs the workflow ('scbench run')")
}
