package loadtest

import "testing"

func TestParseMetrics(t *testing.T) {
	text := `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
process_resident_memory_bytes 1.2345e+08
givelive_hub_connections 10006
givelive_hub_events_delivered_total{type="chat"} 300000
givelive_hub_events_delivered_total{type="viewers"} 5000
givelive_hub_events_delivered_total{type="other"} 0
givelive_http_requests_total{route="/a b}",method="GET",code="200"} 3
givelive_http_requests_total{route="/q\"}x",method="GET",code="200"} 4
go_gc_duration_seconds{quantile="0.5"} 1e-05
go_gc_duration_seconds_sum 0.25
weird{unterminated="x 9
not a number here
  indented_metric 7 1700000000000
`
	m := parseMetrics([]byte(text))
	want := map[string]float64{
		"process_cpu_seconds_total":           12.5,
		"process_resident_memory_bytes":       123450000,
		"givelive_hub_connections":            10006,
		"givelive_hub_events_delivered_total": 305000,
		"givelive_http_requests_total":        7,
		"go_gc_duration_seconds":              1e-05,
		"go_gc_duration_seconds_sum":          0.25,
		"indented_metric":                     7,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if len(m) != len(want) {
		t.Errorf("parsed %d metrics, want %d: %v", len(m), len(want), m)
	}
}
