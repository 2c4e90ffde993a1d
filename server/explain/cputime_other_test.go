//go:build !unix

package explain_test

import "time"

// processCPU is unavailable off Unix; benchmarks then report wall time only.
func processCPU() (time.Duration, bool) { return 0, false }
