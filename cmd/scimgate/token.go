package main

import (
	"fmt"
	"io"
)

func tokenCmd(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "scimgate token: not available yet")
	return 2
}
