package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/givelive/givelive/api"
	"github.com/givelive/givelive/ingest"
	"github.com/givelive/givelive/ingest/hls"
	"github.com/givelive/givelive/internal/config"
	"github.com/givelive/givelive/internal/mediadir"
	"github.com/givelive/givelive/internal/store"
	"github.com/givelive/givelive/internal/streams"
)

// media is the media side of a node: the embedded RTMP server and its HLS
// window, or a proxy to mediamtx's HLS server.
type media struct {
	hls    http.Handler   // serves /hls/
	window *hls.Server    // nil with mediamtx
	proxy  *hls.Proxy     // the mediamtx HLS proxy, or nil
	cross  *crossNodeHLS  // HLS of other nodes' streams, or nil (one node, or mediamtx)
	rtmp   *ingest.Server // nil with mediamtx
	whip   *ingest.WHIP   // nil with mediamtx or GIVELIVE_WEBRTC_ADDR=off
	replay *replays       // recordings and their replay; nil when off or with mediamtx
	ln     net.Listener   // the RTMP listener
	served chan error     // Serve's result
	log    *slog.Logger
	once   sync.Once
}

// startMedia starts the embedded media server (RTMP in, HLS out), or, with
// GIVELIVE_HLS_SOURCE set, the proxy to mediamtx's HLS server. With a media
// directory (several nodes), HLS of a stream another node ingests is
// proxied there.
func startMedia(cfg config.Config, ledger store.Store, tracker *streams.Tracker, dir *mediadir.Directory, reg prometheus.Registerer, log *slog.Logger) (*media, error) {
	m := &media{log: log}
	if cfg.HLSSource != "" {
		upstream, err := url.Parse(cfg.HLSSource)
		if err != nil {
			return nil, fmt.Errorf("GIVELIVE_HLS_SOURCE: %w", err)
		}
		keys := &keyCache{ledger: ledger, ttl: 10 * time.Second, entries: map[string]keyEntry{}}
		m.proxy, err = hls.NewProxy(upstream, keys.mediamtxPath, log.With("component", "hls-proxy"))
		if err != nil {
			return nil, err
		}
		m.hls = m.proxy
		log.Info("HLS comes from mediamtx; the embedded RTMP server is off", "hls_source", upstream.Redacted())
		return m, nil
	}

	rp, err := newReplays(cfg, ledger, dir, reg, log.With("component", "record"))
	if err != nil {
		return nil, err
	}
	hcfg := hls.Config{
		SegmentCount:    cfg.HLSWindow,
		SegmentDuration: cfg.HLSSegment,
		PartDuration:    cfg.HLSPart,
		Registerer:      reg,
		Logger:          log.With("component", "hls"),
	}
	if rp != nil {
		hcfg.Recorder = rp.rec
		m.replay = rp
	}
	window, err := hls.NewServer(hcfg)
	if err != nil {
		rp.close()
		return nil, err
	}
	srv, err := ingest.New(ingest.Config{
		Keys:          streamKeys{ledger},
		Events:        tracker,
		HLS:           window,
		MaxPublishers: cfg.RTMPMaxStreams,
		Logger:        log.With("component", "rtmp"),
		Registerer:    reg,
	})
	if err != nil {
		window.Close()
		rp.close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.RTMPAddr)
	if err != nil {
		window.Close()
		rp.close()
		return nil, fmt.Errorf("failed to listen for RTMP on %s: %w", cfg.RTMPAddr, err)
	}
	if cfg.WebRTCAddr != "" {
		if m.whip, err = startWHIP(cfg, srv, reg, log); err != nil {
			ln.Close()
			window.Close()
			rp.close()
			return nil, err
		}
	}
	m.hls, m.window, m.rtmp, m.ln = window, window, srv, ln
	if dir != nil {
		if m.cross, err = newCrossNodeHLS(window, dir, reg, log.With("component", "hls-nodes")); err != nil {
			if m.whip != nil {
				m.whip.Close()
			}
			ln.Close()
			window.Close()
			rp.close()
			return nil, err
		}
		m.hls = m.cross
	}
	m.served = make(chan error, 1)
	go func() { m.served <- srv.Serve(ln) }()
	log.Info("rtmp listening", "rtmp", ln.Addr().String())
	return m, nil
}

// stop ends every publish (each stream goes offline) and frees the HLS
// window. Calls after the first do nothing.
func (m *media) stop() {
	m.once.Do(m.close)
}

func (m *media) close() {
	if m.whip != nil {
		m.whip.Close()
	}
	if m.rtmp != nil {
		m.rtmp.Close()
		if err := <-m.served; err != nil && !errors.Is(err, ingest.ErrServerClosed) {
			m.log.Warn("rtmp server stopped with an error", "err", err)
		}
	}
	if m.window != nil {
		m.window.Close()
	}
	m.replay.close() // after the publishers ended their streams
	if m.proxy != nil {
		m.proxy.Close()
	}
	if m.cross != nil {
		m.cross.close()
	}
}

// whipPath is where WHIP publishers POST their offers on the HTTP port.
const whipPath = "/whip"

// startWHIP opens the WebRTC sockets (one UDP port, and TCP on the same
// port number) and the WHIP endpoint of srv.
func startWHIP(cfg config.Config, srv *ingest.Server, reg prometheus.Registerer, log *slog.Logger) (*ingest.WHIP, error) {
	udp, err := net.ListenPacket("udp", cfg.WebRTCAddr)
	if err != nil {
		return nil, fmt.Errorf("failed to listen for WebRTC (WHIP) on UDP %s: %w", cfg.WebRTCAddr, err)
	}
	var tcp net.Listener
	if cfg.WebRTCTCP {
		host, _, _ := net.SplitHostPort(cfg.WebRTCAddr)
		_, port, _ := net.SplitHostPort(udp.LocalAddr().String())
		if _, want, _ := net.SplitHostPort(cfg.WebRTCAddr); want == "0" {
			port = "0" // tests: any free port
		}
		if tcp, err = net.Listen("tcp", net.JoinHostPort(host, port)); err != nil {
			udp.Close()
			return nil, fmt.Errorf("failed to listen for WebRTC (WHIP) on TCP %s: %w", net.JoinHostPort(host, port), err)
		}
	}
	var ips []string
	for _, ip := range cfg.WebRTCPublicIPs {
		ips = append(ips, strings.TrimSpace(ip))
	}
	wcfg := ingest.WHIPConfig{
		UDP:        udp,
		TCP:        tcp,
		PublicIPs:  ips,
		Path:       whipPath,
		Logger:     log.With("component", "whip"),
		Registerer: reg,
	}
	if cfg.TrustProxy {
		wcfg.ClientIP = echo.ExtractIPFromXFFHeader()
	}
	w, err := ingest.NewWHIP(srv, wcfg)
	if err != nil {
		udp.Close()
		if tcp != nil {
			tcp.Close()
		}
		return nil, err
	}
	attrs := []any{"udp", udp.LocalAddr().String()}
	if tcp != nil {
		attrs = append(attrs, "tcp", tcp.Addr().String())
	}
	if len(ips) > 0 {
		attrs = append(attrs, "public_ips", strings.Join(ips, ","))
	}
	log.Info("whip listening on "+whipPath+"; webrtc", attrs...)
	return w, nil
}

// whipURLPath is the WHIP path for whip_url, or "" without WHIP.
func (m *media) whipURLPath() string {
	if m.whip == nil {
		return ""
	}
	return whipPath
}

// routeWHIP sends the WHIP endpoint and its sessions to the WHIP server.
func (m *media) routeWHIP(rest http.Handler) http.Handler {
	if m.whip == nil {
		return rest
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == whipPath || strings.HasPrefix(r.URL.Path, whipPath+"/") {
			m.whip.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

// stopPublish ends one fundraiser's publish, if this node has it.
func (m *media) stopPublish(id string) bool {
	if m == nil || m.rtmp == nil {
		return false
	}
	return m.rtmp.Stop(id)
}

// streamKeys lets the RTMP server resolve stream keys in the ledger.
type streamKeys struct{ ledger store.Store }

func (k streamKeys) PublishKey(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", ingest.ErrUnknownKey
	}
	f, err := k.ledger.FundraiserByStreamKey(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", ingest.ErrUnknownKey
	case err != nil:
		return "", err
	case f.Status == store.StatusEnded:
		return "", fmt.Errorf("fundraiser %s has ended: %w", f.ID, ingest.ErrNotAllowed)
	}
	return f.ID, nil
}

// keyCache maps fundraiser ids to their mediamtx paths (live/{key}) for
// the HLS proxy, which every viewer's player asks every few seconds.
type keyCache struct {
	ledger store.Store
	ttl    time.Duration

	mu      sync.Mutex
	entries map[string]keyEntry
}

type keyEntry struct {
	path    string
	expires time.Time
}

const maxKeyCache = 10_000

func (c *keyCache) mediamtxPath(ctx context.Context, id string) (string, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.path, nil
	}
	f, err := c.ledger.GetFundraiser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("fundraiser %s: %w", id, hls.ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	if f.Status == store.StatusEnded {
		// Its broadcast is over; mediamtx may still hold the path.
		return "", fmt.Errorf("fundraiser %s has ended: %w", id, hls.ErrNotFound)
	}
	path := "live/" + f.StreamKey
	c.mu.Lock()
	if len(c.entries) >= maxKeyCache {
		clear(c.entries)
	}
	c.entries[id] = keyEntry{path: path, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return path, nil
}

// routeHLS sends /hls/ to the media handler, /replay/ to the replays
// (404 when nothing is recorded) and everything else to the API, so HLS
// keeps its own caching and CORS headers.
func routeHLS(hlsHandler, replay, rest http.Handler) http.Handler {
	if replay == nil {
		replay = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeHLSProblem(w, r, http.StatusNotFound, "this server records no broadcasts")
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/hls/"):
			hlsHandler.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/replay/"):
			replay.ServeHTTP(w, r)
		default:
			rest.ServeHTTP(w, r)
		}
	})
}

// replayHandler serves /replay/, or is nil when nothing is recorded.
func (m *media) replayHandler() http.Handler {
	if m == nil || m.replay == nil {
		return nil
	}
	return m.replay
}

// replaySource is the API's replay source, or nil when nothing is recorded.
func (m *media) replaySource() api.ReplaySource {
	if m == nil || m.replay == nil {
		return nil
	}
	return m.replay
}

// StreamHealth reports, for the API, how a stream this node ingests
// arrives (api.StreamHealthSource).
func (m *media) StreamHealth(_ context.Context, id string) (api.StreamHealth, bool) {
	if m == nil || m.rtmp == nil {
		return api.StreamHealth{}, false
	}
	h, ok := m.rtmp.Health(id)
	if !ok {
		return api.StreamHealth{}, false
	}
	since, behind := h.Since, h.Behind.Milliseconds()
	out := api.StreamHealth{
		Since:         &since,
		Bitrate:       &h.Bitrate,
		BehindMs:      &behind,
		DroppedFrames: &h.Dropped,
		Warnings:      h.Warnings,
	}
	if v := h.Video; v != nil {
		out.Video = &api.StreamHealthVideo{Codec: v.Codec}
		if v.Width > 0 {
			out.Video.Width, out.Video.Height = &v.Width, &v.Height
		}
		if v.FrameRate > 0 {
			fps := float32(v.FrameRate)
			out.Video.FrameRate = &fps
		}
		if v.KeyframeInterval > 0 {
			ms := v.KeyframeInterval.Milliseconds()
			out.Video.KeyframeIntervalMs = &ms
		}
	}
	if a := h.Audio; a != nil {
		out.Audio = &api.StreamHealthAudio{Codec: a.Codec, SampleRate: a.SampleRate, Channels: a.Channels}
	}
	return out, true
}

// routeAPI sends the API's requests to api, but a stream's health to the
// node that ingests it, in a cluster.
func (m *media) routeAPI(api http.Handler) http.Handler {
	if m.cross == nil {
		return api
	}
	var local publisherNode
	if m.rtmp != nil {
		local = m.rtmp
	}
	return m.cross.forwardHealth(local, api)
}
