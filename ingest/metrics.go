package ingest

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Refusal reasons (the reason label of givelive_ingest_refused_total).
var refusalReasons = []string{
	"connections", "handshake", "app", "bad_key", "bad_key_rate", "not_allowed",
	"publishers", "codec", "protocol", "lookup", "offer_rate",
}

// metrics are the ingest's counters.
type metrics struct {
	connections   prometheus.Gauge
	publishers    prometheus.Gauge
	bytesIn       prometheus.Counter
	publishes     prometheus.Counter
	revoked       prometheus.Counter
	refusals      *prometheus.CounterVec
	droppedFrames *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "givelive_ingest_connections", Help: "Open RTMP connections.",
		}),
		publishers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "givelive_ingest_publishers", Help: "Streams being published to this node.",
		}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_ingest_received_bytes_total", Help: "Bytes read from RTMP connections (the ingest bitrate is its rate).",
		}),
		publishes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_ingest_publishes_total", Help: "Publishes accepted.",
		}),
		revoked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_ingest_revoked_total", Help: "Publishers cut off because their stream key stopped publishing their fundraiser (replaced, or the fundraiser ended).",
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_ingest_refused_total", Help: "Connections and publishes refused, by reason.",
		}, []string{"reason"}),
		droppedFrames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_ingest_dropped_frames_total", Help: "Audio and video messages dropped, by reason (malformed: unreadable; muxer: the stream could not carry it).",
		}, []string{"reason"}),
	}
	for _, r := range refusalReasons {
		m.refusals.WithLabelValues(r)
	}
	for _, r := range []string{"malformed", "muxer"} {
		m.droppedFrames.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.publishers, m.bytesIn, m.publishes, m.revoked, m.refusals, m.droppedFrames} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ingest: failed to register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) refused(reason string) { m.refusals.WithLabelValues(reason).Inc() }

func (m *metrics) dropped(reason string) { m.droppedFrames.WithLabelValues(reason).Inc() }
