//go:build race

package stages

// raceEnabled is whether the tests run under the race detector.
const raceEnabled = true
