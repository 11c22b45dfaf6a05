package record

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Recorder's counters; they exist whether or not they are
// registered.
type metrics struct {
	active      atomic.Int64
	segments    prometheus.Counter
	bytes       prometheus.Counter
	stoppedVec  *prometheus.CounterVec
	deleted     prometheus.Counter
	replayBytes prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		segments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_recording_segments_total", Help: "Media segments recorded to disk.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_recording_bytes_total", Help: "Bytes of media segments recorded to disk.",
		}),
		stoppedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_recordings_stopped_total",
			Help: "Recordings stopped before their broadcast ended, by reason: write_error (a full disk among them), queue_full (the writer fell behind), too_large, media_error. The live stream goes on.",
		}, []string{"reason"}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_recordings_deleted_total", Help: "Broadcasts deleted by the retention sweeper.",
		}),
		replayBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_replay_bytes_served_total", Help: "Replay playlist and segment bytes served.",
		}),
	}
	for _, r := range []string{reasonWrite, reasonQueueFull, reasonTooLarge, reasonMedia} {
		m.stoppedVec.WithLabelValues(r)
	}
	return m
}

func (m *metrics) stopped(reason string) { m.stoppedVec.WithLabelValues(reason).Inc() }

func (m *metrics) register(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{
		m.segments, m.bytes, m.stoppedVec, m.deleted, m.replayBytes,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "givelive_recordings_active", Help: "Broadcasts being recorded now.",
		}, func() float64 { return float64(m.active.Load()) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
