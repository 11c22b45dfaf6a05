package hub

import (
	"strconv"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/hub/wire"
)

// Drop reasons for volatile events.
const (
	dropQueueFull = "queue_full" // the connection's queue was over half full
	dropCoalesced = "coalesced"  // replaced by a newer viewer count
	dropJoining   = "joining"    // arrived while the subscribe was in progress
)

// Reasons for refusing a handshake before the upgrade.
const refusedPerAddr = "per_address" // the client address has MaxConnsPerAddr open

// knownTypes bounds the type label: anything else is counted as "other".
var knownTypes = []string{
	wire.TypeChat, wire.TypeChatDeleted, wire.TypeDonation, wire.TypeDonationRefunded,
	wire.TypeMilestone, wire.TypeShoutout, wire.TypeStream, wire.TypeFundraiser,
	wire.TypeUserBanned, wire.TypeSticker, wire.TypeViewers,
	wire.TypeDonationHidden, wire.TypeUserUnbanned, wire.TypeChatSettings, wire.TypeDonationUnhidden,
}

// metrics are the hub's counters. Gauges are kept current with atomics so
// a scrape never walks the rooms.
type metrics struct {
	conns atomic.Int64
	rooms atomic.Int64

	publishedVec *prometheus.CounterVec
	deliveredVec *prometheus.CounterVec
	publishedBy  map[string]prometheus.Counter
	delivered    map[string]prometheus.Counter

	framesWritten      prometheus.Counter
	drops              *prometheus.CounterVec
	slowConsumerCloses prometheus.Counter
	closes             *prometheus.CounterVec
	commands           *prometheus.CounterVec
	handshakeFailures  prometheus.Counter
	handshakeRefusals  *prometheus.CounterVec
	pingTimeouts       prometheus.Counter
	peerCloses         prometheus.Counter
	writeTimeouts      prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		publishedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hub_events_published_total", Help: "Events published by this node, by type.",
		}, []string{"type"}),
		deliveredVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hub_events_delivered_total", Help: "Events written to connections, by type.",
		}, []string{"type"}),
		framesWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hub_frames_written_total", Help: "WebSocket frames written; each packs one or more events.",
		}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hub_queue_drops_total", Help: "Volatile events dropped or coalesced, by reason.",
		}, []string{"reason"}),
		slowConsumerCloses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hub_slow_consumer_closes_total", Help: "Connections closed with 4000 as slow consumers: their queue overflowed, or a write waited longer than the write timeout.",
		}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hub_closes_total", Help: "Connections the server closed, by close code (1006: dropped without a close frame).",
		}, []string{"code"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hub_commands_total", Help: "Client commands, by op and result code.",
		}, []string{"op", "result"}),
		handshakeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hub_handshake_failures_total", Help: "WebSocket handshakes refused (origin, protocol).",
		}),
		handshakeRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "givelive_hub_handshake_refusals_total", Help: "WebSocket handshakes refused before the upgrade, by reason.",
		}, []string{"reason"}),
		pingTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hub_ping_timeouts_total", Help: "Connections dropped for not answering a ping.",
		}),
		peerCloses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hub_peer_closes_total", Help: "Connections closed by the client.",
		}),
		writeTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_hub_write_timeouts_total", Help: "Slow consumers closed because a write waited longer than the write timeout (also in givelive_hub_slow_consumer_closes_total).",
		}),
		publishedBy: make(map[string]prometheus.Counter),
		delivered:   make(map[string]prometheus.Counter),
	}
	for _, t := range append(knownTypes, "other") {
		m.publishedBy[t] = m.publishedVec.WithLabelValues(t)
		m.delivered[t] = m.deliveredVec.WithLabelValues(t)
	}
	for _, r := range []string{dropQueueFull, dropCoalesced, dropJoining} {
		m.drops.WithLabelValues(r)
	}
	m.handshakeRefusals.WithLabelValues(refusedPerAddr)
	return m
}

func (m *metrics) register(reg prometheus.Registerer, h *Hub) error {
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "givelive_hub_connections", Help: "Open WebSocket connections.",
		}, func() float64 { return float64(m.conns.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "givelive_hub_rooms", Help: "Rooms with at least one subscriber on this node.",
		}, func() float64 { return float64(m.rooms.Load()) }),
		m.publishedVec, m.deliveredVec, m.framesWritten, m.drops, m.slowConsumerCloses,
		m.closes, m.commands, m.handshakeFailures, m.handshakeRefusals, m.pingTimeouts, m.peerCloses, m.writeTimeouts,
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *metrics) published(typ string) {
	if c, ok := m.publishedBy[typ]; ok {
		c.Inc()
		return
	}
	m.publishedBy["other"].Inc()
}

func (m *metrics) deliveredCounter(typ string) prometheus.Counter {
	if c, ok := m.delivered[typ]; ok {
		return c
	}
	return m.delivered["other"]
}

func (m *metrics) drop(reason string) { m.drops.WithLabelValues(reason).Inc() }

func (m *metrics) closed(code websocket.StatusCode) {
	m.closes.WithLabelValues(strconv.Itoa(int(code))).Inc()
}

func (m *metrics) command(op, code string) {
	if code == "" {
		code = "ok"
	}
	m.commands.WithLabelValues(op, code).Inc()
}
