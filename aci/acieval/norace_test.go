//go:build !race

package acieval

// raceStride: every generated case is checked without the race detector.
const raceStride = 1
