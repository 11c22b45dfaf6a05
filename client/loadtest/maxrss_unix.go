//go:build unix && !darwin && !ios

package loadtest

// maxRSSUnit converts getrusage's ru_maxrss to bytes: Linux and the BSDs
// report KiB.
const maxRSSUnit = 1024
