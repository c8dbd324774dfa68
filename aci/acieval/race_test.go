//go:build race

package acieval

// raceStride thins the generated property tests under the race detector,
// which slows them tenfold: every raceStride-th case is checked.
const raceStride = 5
