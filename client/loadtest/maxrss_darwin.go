//go:build darwin || ios

package loadtest

// maxRSSUnit converts getrusage's ru_maxrss to bytes: Darwin reports bytes.
const maxRSSUnit = 1
