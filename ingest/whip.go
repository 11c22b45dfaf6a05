package ingest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for the zero values of WHIPConfig.
const (
	DefaultWHIPPath             = "/whip"
	DefaultMaxOfferBytes        = 64 << 10
	DefaultOfferBurst           = 20
	DefaultOfferEvery           = 3 * time.Second
	DefaultConnectTimeout       = 15 * time.Second
	DefaultKeyframeInterval     = 2 * time.Second
	DefaultWHIPDisconnectedWait = 5 * time.Second
	DefaultWHIPFailedWait       = 10 * time.Second
	DefaultMaxTCPConns          = 256
	DefaultMaxTCPConnsPerAddr   = 8
	DefaultTCPFirstPacket       = 5 * time.Second
)

// WHIPConfig configures NewWHIP. UDP is required; the zero value of every
// other field means the default documented on it.
type WHIPConfig struct {
	// UDP is the one UDP socket every WebRTC session's ICE and media share
	// (pion's ICE UDP mux). Required. Closed by Close.
	UDP net.PacketConn
	// TCP, if set, takes ICE over TCP too (pion's ICE TCP mux), for
	// networks that block UDP. Closed by Close.
	TCP net.Listener
	// MaxTCPConns and MaxTCPConnsPerAddr bound the ICE-TCP connections
	// open at once, in all and from one client address; beyond, a new one
	// is closed at once. TCPFirstPacket closes a connection that sends no
	// STUN message this long after it opened (pion's default is 30 s).
	// Zero means DefaultMaxTCPConns, DefaultMaxTCPConnsPerAddr and
	// DefaultTCPFirstPacket.
	MaxTCPConns        int
	MaxTCPConnsPerAddr int
	TCPFirstPacket     time.Duration
	// PublicIPs are the addresses publishers reach this node at, when it
	// sits behind a 1:1 NAT (a cloud instance with a private address and
	// an elastic or floating IP): they replace the host addresses in the
	// answer's ICE candidates. Empty means the local addresses.
	PublicIPs []string
	// Path is where the endpoint is mounted; sessions live under it
	// (Path/{session}). Empty means DefaultWHIPPath.
	Path string
	// MaxOfferBytes bounds an SDP offer; larger ones are refused with 413.
	// Zero means DefaultMaxOfferBytes (a browser's offer is 5–12 KiB).
	MaxOfferBytes int
	// OfferBurst and OfferEvery limit the offers one client address (an
	// IPv6 address counts by its /64) may send: a burst, then one every
	// OfferEvery. Beyond, offers are refused with 429. Zero means the
	// defaults.
	OfferBurst int
	OfferEvery time.Duration
	// ConnectTimeout ends a session whose ICE and DTLS have not connected
	// this long after its offer was answered. Zero means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// KeyframeInterval is how often a keyframe is asked for (RTCP PLI) when
	// the publisher sends none by itself: browsers send keyframes only when
	// asked, and HLS cuts segments and lets new viewers start only at
	// keyframes. Zero means DefaultKeyframeInterval.
	KeyframeInterval time.Duration
	// ClientIP returns the address a request comes from, for the offer
	// limit (behind a trusted proxy, from X-Forwarded-For). Nil means the
	// connection's address.
	ClientIP func(*http.Request) string
	// Logger receives session logs. Nil means the Server's logger. Stream
	// keys are never logged.
	Logger *slog.Logger
	// Registerer receives the WHIP metrics. Nil registers none.
	Registerer prometheus.Registerer
}

// WHIP takes publishers over WebRTC (WHIP, RFC 9725) for a Server: from a
// browser or OBS 30+, with the stream key as the bearer token. It shares
// the Server's stream keys, events, limits and its one publisher per
// fundraiser (the newest wins, whether RTMP or WHIP), and feeds the same
// HLS output.
//
// WHIP is an http.Handler: POST an SDP offer to Path; DELETE the session
// URL it answers with (Location) to stop. It is safe for concurrent use;
// Close ends every session and waits for them.
type WHIP struct {
	srv     *Server
	cfg     WHIPConfig
	log     *slog.Logger
	api     *webrtc.API
	udpMux  ice.UDPMux
	tcpMux  ice.TCPMux
	offers  *ipLimiter
	metrics *whipMetrics

	mu       sync.Mutex
	closed   bool
	sessions map[string]*whipSession // by session id
	wg       sync.WaitGroup
}

// NewWHIP builds the WHIP endpoint of srv. It starts reading cfg.UDP (and
// accepting on cfg.TCP) at once.
func NewWHIP(srv *Server, cfg WHIPConfig) (*WHIP, error) {
	if srv == nil {
		return nil, errors.New("ingest: NewWHIP needs a Server")
	}
	if cfg.UDP == nil {
		return nil, errors.New("ingest: WHIPConfig.UDP is nil")
	}
	setDefault(&cfg.Path, DefaultWHIPPath)
	cfg.Path = "/" + strings.Trim(cfg.Path, "/")
	setDefault(&cfg.MaxOfferBytes, DefaultMaxOfferBytes)
	setDefault(&cfg.OfferBurst, DefaultOfferBurst)
	setDefault(&cfg.OfferEvery, DefaultOfferEvery)
	setDefault(&cfg.ConnectTimeout, DefaultConnectTimeout)
	setDefault(&cfg.KeyframeInterval, DefaultKeyframeInterval)
	setDefault(&cfg.MaxTCPConns, DefaultMaxTCPConns)
	setDefault(&cfg.MaxTCPConnsPerAddr, DefaultMaxTCPConnsPerAddr)
	setDefault(&cfg.TCPFirstPacket, DefaultTCPFirstPacket)
	if cfg.Logger == nil {
		cfg.Logger = srv.log
	}
	for _, ip := range cfg.PublicIPs {
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("ingest: public IP %q is not an IP address", ip)
		}
	}
	m, err := newWHIPMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	w := &WHIP{
		srv:      srv,
		cfg:      cfg,
		log:      cfg.Logger,
		offers:   newIPLimiter(cfg.OfferBurst, cfg.OfferEvery, cfg.OfferEvery, srv.cfg.Now),
		metrics:  m,
		sessions: map[string]*whipSession{},
	}
	logs := pionLogs{log: cfg.Logger.With("component", "webrtc")}
	w.udpMux = webrtc.NewICEUDPMux(logs.NewLogger("udpmux"), cfg.UDP)
	if cfg.TCP != nil {
		w.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener:                     newLimitListener(cfg.TCP, cfg.MaxTCPConns, cfg.MaxTCPConnsPerAddr),
			Logger:                       logs.NewLogger("tcpmux"),
			ReadBufferSize:               8,
			WriteBufferSize:              4 << 20, // as webrtc.NewICETCPMux
			FirstStunBindTimeout:         cfg.TCPFirstPacket,
			AliveDurationForConnFromStun: 2 * cfg.TCPFirstPacket,
		})
	}
	if w.api, err = w.newAPI(logs); err != nil {
		w.closeMuxes()
		return nil, err
	}
	srv.onStop(w.stopPending)
	return w, nil
}

// stopPending ends the sessions of fundraiser id that have not connected
// yet (Server.Stop ends the one on air), and reports whether there were
// any.
func (w *WHIP) stopPending(id string) bool {
	w.mu.Lock()
	var list []*whipSession
	for _, ws := range w.sessions {
		if ws.fundraiser == id {
			list = append(list, ws)
		}
	}
	w.mu.Unlock()
	stopped := false
	for _, ws := range list {
		if ws.kick("fundraiser stopped") {
			stopped = true
		}
	}
	return stopped
}

// newAPI builds the pion API every session is made with: H.264 and Opus
// only, ICE lite on the shared sockets, NACK, receiver reports and
// transport-wide congestion feedback (which lets a browser raise its
// bitrate).
func (w *WHIP) newAPI(logs pionLogs) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	pt := webrtc.PayloadType(96)
	for _, profile := range []string{"42e01f", "42001f", "4d001f", "64001f"} {
		for _, mode := range []string{"1", "0"} {
			err := me.RegisterCodec(webrtc.RTPCodecParameters{
				RTPCodecCapability: webrtc.RTPCodecCapability{
					MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: fb,
					SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=" + mode + ";profile-level-id=" + profile,
				},
				PayloadType: pt,
			}, webrtc.RTPCodecTypeVideo)
			if err != nil {
				return nil, fmt.Errorf("ingest: failed to register H.264: %w", err)
			}
			pt++
		}
	}
	err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio)
	if err != nil {
		return nil, fmt.Errorf("ingest: failed to register Opus: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(me, ir); err != nil {
		return nil, err
	}

	se := webrtc.SettingEngine{LoggerFactory: logs}
	// ICE lite: the server only answers the publisher's connectivity
	// checks, authenticated with the session's ICE password; it never
	// sends checks of its own to the addresses an offer names, so an offer
	// cannot point it at a third party.
	se.SetLite(true)
	se.SetICEUDPMux(w.udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if w.tcpMux != nil {
		se.SetICETCPMux(w.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // no socket of its own per session
	se.SetICETimeouts(DefaultWHIPDisconnectedWait, DefaultWHIPFailedWait, time.Second)
	se.SetIncludeLoopbackCandidate(true) // a publisher on this machine (and the tests)
	se.DisableActiveTCP(true)
	if len(w.cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        w.cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, fmt.Errorf("ingest: public IPs: %w", err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// Close ends every WHIP session (each stream goes offline as when the
// publisher stops), waits for them, and closes the sockets. New offers
// are answered 503.
func (w *WHIP) Close() error {
	w.mu.Lock()
	w.closed = true
	list := make([]*whipSession, 0, len(w.sessions))
	for _, ws := range w.sessions {
		list = append(list, ws)
	}
	w.mu.Unlock()
	for _, ws := range list {
		ws.kick("server shutting down")
	}
	w.wg.Wait()
	w.closeMuxes()
	return nil
}

func (w *WHIP) closeMuxes() {
	if w.tcpMux != nil {
		_ = w.tcpMux.Close()
	}
	_ = w.udpMux.Close()
}

// Sessions returns the number of WHIP sessions open now.
func (w *WHIP) Sessions() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.sessions)
}

// ServeHTTP serves the WHIP endpoint (POST Path) and its sessions
// (DELETE and PATCH Path/{session}); OPTIONS on both.
func (w *WHIP) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	setWHIPCORS(rw.Header())
	rest, ok := strings.CutPrefix(r.URL.Path, w.cfg.Path)
	if !ok || rest != "" && !strings.HasPrefix(rest, "/") {
		whipProblem(rw, http.StatusNotFound, "Not a WHIP URL: publish to "+w.cfg.Path+".")
		return
	}
	rest = strings.Trim(rest, "/")
	if rest == "" {
		switch r.Method {
		case http.MethodPost:
			w.offer(rw, r)
		case http.MethodOptions:
			rw.Header().Set("Accept-Post", "application/sdp")
			rw.Header().Set("Allow", "OPTIONS, POST")
			rw.WriteHeader(http.StatusNoContent)
		default:
			rw.Header().Set("Allow", "OPTIONS, POST")
			whipProblem(rw, http.StatusMethodNotAllowed, "POST an SDP offer (Content-Type: application/sdp) with the stream key as the bearer token.")
		}
		return
	}
	w.mu.Lock()
	ws := w.sessions[rest]
	w.mu.Unlock()
	switch r.Method {
	case http.MethodOptions:
		rw.Header().Set("Allow", whipSessionAllow)
		rw.WriteHeader(http.StatusNoContent)
		return
	case http.MethodDelete, http.MethodPatch:
	default:
		rw.Header().Set("Allow", whipSessionAllow)
		whipProblem(rw, http.StatusMethodNotAllowed, "A WHIP session takes DELETE (to stop publishing).")
		return
	}
	if ws == nil {
		whipProblem(rw, http.StatusNotFound, "No such WHIP session: it has ended.")
		return
	}
	if key, ok := bearer(r.Header.Get("Authorization")); !ok || !ws.keyMatches(key) {
		// The same authorisation as the POST (RFC 9725 section 4.4): the
		// stream key the session was opened with.
		rw.Header().Set("WWW-Authenticate", `Bearer realm="GiveLive", error="invalid_token"`)
		whipProblem(rw, http.StatusUnauthorized, "Send the stream key the session was opened with as the bearer token.")
		return
	}
	if r.Method == http.MethodPatch {
		// Trickle ICE and ICE restarts are optional in RFC 9725. The answer
		// carries every candidate of the server (it has one address per
		// socket), and the server, being ICE lite, learns the publisher's
		// addresses from its checks, so trickling adds nothing.
		rw.Header().Set("Allow", whipSessionAllow)
		whipProblem(rw, http.StatusMethodNotAllowed,
			"Trickle ICE is not supported: the answer already lists every candidate, and the publisher's own are learnt from its checks. Send the offer with its candidates, or without any.")
		return
	}
	ws.log.Info("publisher stopped (DELETE)")
	ws.kick("publisher stopped")
	// Answer once the stream has played out and gone offline, so a client
	// that publishes again right after sees a clean start; but never hold
	// the request for long.
	t := time.NewTimer(callTimeout)
	defer t.Stop()
	select {
	case <-ws.done:
	case <-t.C:
	case <-r.Context().Done():
	}
	rw.WriteHeader(http.StatusOK)
}

// offer answers a POSTed SDP offer: the checks, in order of cost, then the
// session.
func (w *WHIP) offer(rw http.ResponseWriter, r *http.Request) {
	addr, remote := clientAddr(r.RemoteAddr), r.RemoteAddr
	if w.cfg.ClientIP != nil {
		if a, err := netip.ParseAddr(w.cfg.ClientIP(r)); err == nil {
			addr, remote = clientAddr(netip.AddrPortFrom(a, 0).String()), a.String()
		}
	}
	key, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		w.srv.metrics.refused("bad_key")
		rw.Header().Set("WWW-Authenticate", `Bearer realm="GiveLive"`)
		whipProblem(rw, http.StatusUnauthorized, "Send the stream key as the bearer token (Authorization: Bearer STREAM_KEY); copy it from the GiveLive studio.")
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/sdp" {
		w.srv.metrics.refused("protocol")
		whipProblem(rw, http.StatusUnsupportedMediaType, "The offer must be sent as Content-Type: application/sdp.")
		return
	}
	if r.ContentLength > int64(w.cfg.MaxOfferBytes) {
		w.srv.metrics.refused("protocol")
		whipProblem(rw, http.StatusRequestEntityTooLarge, fmt.Sprintf("The offer is larger than %d bytes.", w.cfg.MaxOfferBytes))
		return
	}
	if wait := w.offers.delay(addr); wait > 0 {
		w.srv.metrics.refused("offer_rate")
		w.log.Warn("whip offer refused: too many offers from one address", "remote", remote)
		rw.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)+1))
		whipProblem(rw, http.StatusTooManyRequests, "Too many offers from your address; wait a few seconds and try again.")
		return
	}
	w.offers.failed(addr) // every offer counts, answered or not
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(w.cfg.MaxOfferBytes)+1))
	if err != nil {
		whipProblem(rw, http.StatusBadRequest, "The offer could not be read.")
		return
	}
	if len(body) > w.cfg.MaxOfferBytes {
		w.srv.metrics.refused("protocol")
		whipProblem(rw, http.StatusRequestEntityTooLarge, fmt.Sprintf("The offer is larger than %d bytes.", w.cfg.MaxOfferBytes))
		return
	}

	id, status, detail := w.srv.lookupKey(r.Context(), key, addr, "whip")
	if status != 0 {
		if status == http.StatusUnauthorized {
			rw.Header().Set("WWW-Authenticate", `Bearer realm="GiveLive", error="invalid_token"`)
		}
		whipProblem(rw, status, detail)
		return
	}
	offer, err := checkOffer(body)
	if err != nil {
		w.srv.metrics.refused("codec")
		var oe *offerError
		status := http.StatusBadRequest
		if errors.As(err, &oe) {
			status = oe.status
		}
		whipProblem(rw, status, err.Error())
		return
	}

	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		whipProblem(rw, http.StatusServiceUnavailable, "The server is shutting down; try again in a moment.")
		return
	}
	if len(w.sessions) >= 2*w.srv.cfg.MaxPublishers {
		// Sessions not connected yet count for nothing else: room for
		// every publisher and one takeover or retry each.
		w.mu.Unlock()
		w.srv.metrics.refused("publishers")
		rw.Header().Set("Retry-After", "10")
		whipProblem(rw, http.StatusServiceUnavailable, "This server is full; try again later.")
		return
	}
	ws := newWHIPSession(w, id, key, remote, offer)
	w.sessions[ws.id] = ws
	w.wg.Add(1)
	w.mu.Unlock()

	answer, err := ws.start(body)
	if err != nil {
		ws.finish()
		var oe *offerError
		switch {
		case errors.Is(err, errTooManyPublishers):
			w.srv.metrics.refused("publishers")
			w.log.Warn("whip publish refused: node is at its publisher limit", "max", w.srv.cfg.MaxPublishers)
			rw.Header().Set("Retry-After", "10")
			whipProblem(rw, http.StatusServiceUnavailable, "This server is full; try again later.")
		case errors.As(err, &oe):
			w.srv.metrics.refused("codec")
			whipProblem(rw, oe.status, oe.Error())
		default:
			w.srv.metrics.refused("protocol")
			w.log.Warn("whip offer could not be answered", "err", err)
			whipProblem(rw, http.StatusBadRequest, "The offer could not be answered: "+err.Error())
		}
		return
	}
	w.srv.metrics.publishes.Inc()
	rw.Header().Set("Content-Type", "application/sdp")
	rw.Header().Set("Location", w.cfg.Path+"/"+ws.id)
	rw.Header().Set("ETag", `"`+ws.id+`"`)
	rw.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(rw, answer)
}

// lookupKey resolves a stream key for a publisher at addr, with the
// bad-key limit of RTMP: an address that sent many unknown keys is
// answered late, but its key is still looked up. It returns the
// fundraiser, or an HTTP status and what to tell the publisher.
func (s *Server) lookupKey(ctx context.Context, key string, addr netip.Addr, door string) (id string, status int, detail string) {
	if wait := s.badKeys.delay(addr); wait > 0 {
		s.metrics.refused("bad_key_rate")
		s.log.Warn(door+" publish slowed down: many unknown stream keys from this address", "delay", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", http.StatusServiceUnavailable, "gone"
		case <-s.stopLoop:
			t.Stop()
			return "", http.StatusServiceUnavailable, "The server is shutting down; try again in a moment."
		}
	}
	lctx, cancel := context.WithTimeout(ctx, callTimeout)
	id, err := s.cfg.Keys.PublishKey(lctx, key)
	cancel()
	switch {
	case errors.Is(err, ErrUnknownKey) || err == nil && id == "":
		s.badKeys.failed(addr)
		s.metrics.refused("bad_key")
		s.log.Warn(door + " publish refused: unknown stream key") // never the key itself
		return "", http.StatusUnauthorized, "Unknown stream key: copy it again from the GiveLive studio."
	case errors.Is(err, ErrNotAllowed):
		s.metrics.refused("not_allowed")
		s.log.Info(door+" publish refused: fundraiser cannot go live", "err", err)
		return "", http.StatusForbidden, "This fundraiser has ended; create a new one to go live."
	case err != nil:
		s.metrics.refused("lookup")
		s.log.Error(door+" publish refused: stream key lookup failed", "err", err)
		return "", http.StatusServiceUnavailable, "The server could not check the stream key; try again."
	}
	return id, 0, ""
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > 512 {
		return "", false
	}
	return token, true
}

// whipSessionAllow is what a session URL takes: PATCH (trickle ICE) is
// answered 405, so it is not listed (RFC 9725 section 4.3.1).
const whipSessionAllow = "OPTIONS, DELETE"

func setWHIPCORS(h http.Header) {
	// WHIP clients may run on any origin (RFC 9725 section 4.2): the
	// stream key, not the origin, authorises a publish.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "OPTIONS, POST, DELETE")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Retry-After")
	h.Set("Cache-Control", "no-store")
}

// whipProblem answers status with a problem document.
func whipProblem(rw http.ResponseWriter, status int, detail string) {
	body, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{"about:blank", http.StatusText(status), status, detail})
	rw.Header().Set("Content-Type", "application/problem+json")
	rw.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	rw.WriteHeader(status)
	_, _ = rw.Write(append(body, '\n'))
}

// newSessionID returns a random session id: the session URL is a secret
// that lets its holder stop the stream.
func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
