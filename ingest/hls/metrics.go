package hls

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Request kinds, the kind label of requests_total.
const (
	kindPlaylist = iota
	kindSegment
	kindOther // a path that is neither (counted so scanners show up)
	numKinds
)

var kindNames = [numKinds]string{"playlist", "segment", "other"}

// knownCodes have their counters made up front, so counting a request never
// allocates. 499 is a request whose client left while it waited.
var knownCodes = [...]int{200, 204, 206, 304, 404, 405, 416, 499, 503}

// Segment drop reasons: every segment that is not listed as appended, or
// leaves earlier than the window says, is counted by one of these.
const (
	dropSuperseded = iota // appended to a Stream a later Begin replaced
	dropEnded             // appended after End
	dropInvalid           // no data or no duration
	dropBytes             // evicted early by MaxStreamBytes
	numDrops
)

var dropNames = [numDrops]string{"superseded", "ended", "invalid", "bytes"}

// Results of a playlist request that waited for a first segment.
const (
	waitSegment  = iota // a segment arrived
	waitTimeout         // FirstSegmentWait passed
	waitEnded           // the stream ended without a segment
	waitCanceled        // the client left
	waitClosed          // the Server closed
	numWaits
)

var waitNames = [numWaits]string{"segment", "timeout", "ended", "canceled", "closed"}

// metrics are the Server's counters. They exist whether or not they are
// registered, so the code counts unconditionally; gauges are atomics read at
// scrape time.
type metrics struct {
	streams atomic.Int64 // windows in memory
	bytes   atomic.Int64 // segment bytes held, all windows

	requestsVec *prometheus.CounterVec
	requests    [numKinds][len(knownCodes)]prometheus.Counter
	segments    prometheus.Counter
	droppedVec  *prometheus.CounterVec
	dropped     [numDrops]prometheus.Counter
	bytesServed prometheus.Counter
	waitsVec    *prometheus.CounterVec
	waits       [numWaits]prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		requestsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hls_requests_total",
			Help: "HLS requests by kind (playlist, segment, other) and status code; 499: the client left while the request waited.",
		}, []string{"kind", "code"}),
		segments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hls_segments_total", Help: "Segments appended to a live window.",
		}),
		droppedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hls_segments_dropped_total",
			Help: "Segments refused (superseded, ended, invalid) or evicted before their time (bytes: MaxStreamBytes).",
		}, []string{"reason"}),
		bytesServed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hls_bytes_served_total", Help: "Playlist and segment body bytes written to viewers.",
		}),
		waitsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hls_waits_total",
			Help: "Playlist requests that waited for a stream's first segment, by how the wait ended.",
		}, []string{"result"}),
	}
	for k := range numKinds {
		for i, c := range knownCodes {
			m.requests[k][i] = m.requestsVec.WithLabelValues(kindNames[k], strconv.Itoa(c))
		}
	}
	for i := range numDrops {
		m.dropped[i] = m.droppedVec.WithLabelValues(dropNames[i])
	}
	for i := range numWaits {
		m.waits[i] = m.waitsVec.WithLabelValues(waitNames[i])
	}
	return m
}

func (m *metrics) register(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{
		m.requestsVec, m.segments, m.droppedVec, m.bytesServed, m.waitsVec,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "givelive_hls_streams", Help: "Streams in memory, live or lingering after their end.",
		}, func() float64 { return float64(m.streams.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "givelive_hls_window_bytes", Help: "Segment bytes held in memory, all streams.",
		}, func() float64 { return float64(m.bytes.Load()) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *metrics) request(kind, code int) {
	for i, c := range knownCodes {
		if c == code {
			m.requests[kind][i].Inc()
			return
		}
	}
	m.requestsVec.WithLabelValues(kindNames[kind], strconv.Itoa(code)).Inc()
}

func (m *metrics) drop(reason int) { m.dropped[reason].Inc() }

func (m *metrics) served(n int) {
	if n > 0 {
		m.bytesServed.Add(float64(n))
	}
}
