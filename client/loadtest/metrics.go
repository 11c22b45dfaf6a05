package loadtest

import (
	"bufio"
	"bytes"
	"strconv"
	"time"
)

// Metrics read from the target's /metrics (Prometheus text format).
const (
	metricCPU           = "process_cpu_seconds_total"
	metricRSS           = "process_resident_memory_bytes"
	metricGOMAXPROCS    = "go_sched_gomaxprocs_threads"
	metricConns         = "givelive_hub_connections"
	metricFrames        = "givelive_hub_frames_written_total"
	metricDelivered     = "givelive_hub_events_delivered_total"
	metricSlowCloses    = "givelive_hub_slow_consumer_closes_total"
	metricWriteTimeouts = "givelive_hub_write_timeouts_total"
	metricPingTimeouts  = "givelive_hub_ping_timeouts_total"
	metricQueueDrops    = "givelive_hub_queue_drops_total"
	metricHeapInuse     = "go_memstats_heap_inuse_bytes"
	metricStackInuse    = "go_memstats_stack_inuse_bytes"
)

// serverSample is one scrape of the target's metrics.
type serverSample struct {
	at time.Time
	ok bool // false: the scrape failed and the values are zero
	m  map[string]float64
}

func (s serverSample) get(name string) float64 { return s.m[name] }

// delta is after minus before for one metric; 0 unless both scrapes worked.
func delta(before, after serverSample, name string) float64 {
	if !before.ok || !after.ok {
		return 0
	}
	return after.get(name) - before.get(name)
}

// parseMetrics reads Prometheus text exposition into name → value, summing
// the series of a metric over their labels. Comments, histograms' and
// summaries' own lines are kept by their full names; malformed lines are
// skipped.
func parseMetrics(text []byte) map[string]float64 {
	m := make(map[string]float64)
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		name, rest := metricName(line)
		if len(name) == 0 {
			continue
		}
		if len(rest) > 0 && rest[0] == '{' {
			var ok bool
			if rest, ok = skipLabels(rest); !ok {
				continue
			}
		}
		fields := bytes.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(string(fields[0]), 64)
		if err != nil {
			continue
		}
		m[string(name)] += v
	}
	return m
}

func metricName(line []byte) (name, rest []byte) {
	i := 0
	for i < len(line) {
		c := line[i]
		if c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			i++
			continue
		}
		break
	}
	return line[:i], line[i:]
}

// skipLabels skips a {…} label set, honouring quoted values with escapes.
func skipLabels(p []byte) (rest []byte, ok bool) {
	inQuote := false
	for i := 1; i < len(p); i++ {
		switch c := p[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '}':
			return p[i+1:], true
		}
	}
	return nil, false
}
