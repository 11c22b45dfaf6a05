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
var knownCodes = [...]int{200, 204, 206, 304, 400, 404, 405, 416, 499, 503}

// metrics are the Server's counters. They exist whether or not they are
// registered, so the code counts unconditionally; gauges are atomics read at
// scrape time.
type metrics struct {
	streams atomic.Int64 // windows in memory, live or lingering
	held    atomic.Int64 // requests waiting on the muxer now

	requestsVec  *prometheus.CounterVec
	requests     [numKinds][len(knownCodes)]prometheus.Counter
	bytesServed  prometheus.Counter
	waitsVec     *prometheus.CounterVec
	waits        [numWaits]prometheus.Counter
	flights      prometheus.Counter
	superseded   prometheus.Counter
	encodeErrors prometheus.Counter
	panics       prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		requestsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hls_requests_total",
			Help: "HLS requests by kind (playlist, segment, other) and status code; 499: the client left while the request waited.",
		}, []string{"kind", "code"}),
		flights: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hls_muxer_requests_total",
			Help: "Requests made to the muxers; concurrent viewer requests for the same file and part share one.",
		}),
		superseded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hls_superseded_total", Help: "Live streams replaced by a new publish of the same fundraiser.",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hls_muxer_panics_total", Help: "Panics in the muxer contained (the stream stops taking frames); each is logged with its stack.",
		}),
		encodeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hls_muxer_warnings_total", Help: "Non-fatal muxer warnings (part or segment durations that changed).",
		}),
		bytesServed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hls_bytes_served_total", Help: "Playlist and segment body bytes written to viewers.",
		}),
		waitsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hls_waits_total",
			Help: "Multivariant playlist requests that waited for a stream's first segment, by how the wait ended.",
		}, []string{"result"}),
	}
	for k := range numKinds {
		for i, c := range knownCodes {
			m.requests[k][i] = m.requestsVec.WithLabelValues(kindNames[k], strconv.Itoa(c))
		}
	}
	for i := range numWaits {
		m.waits[i] = m.waitsVec.WithLabelValues(waitNames[i])
	}
	return m
}

func (m *metrics) register(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{
		m.requestsVec, m.bytesServed, m.waitsVec, m.flights, m.superseded, m.encodeErrors, m.panics,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "givelive_hls_streams", Help: "Streams in memory, live or lingering after their end.",
		}, func() float64 { return float64(m.streams.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "givelive_hls_held_requests", Help: "Viewer requests waiting now for a part, a blocking playlist reload or a first segment.",
		}, func() float64 { return float64(m.held.Load()) }),
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

func (m *metrics) served(n int) {
	if n > 0 {
		m.bytesServed.Add(float64(n))
	}
}
