package main

import (
	"context"
	"fmt"
	"io"
)

func loadtest(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "givelive loadtest: not built yet")
	return 2
}
