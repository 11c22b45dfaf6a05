package loadtest

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/givelive/givelive/hub/wire"
)

// Config describes one load test. A zero field means the default its comment
// documents.
type Config struct {
	// Target is the server's base URL. Default http://127.0.0.1:8080.
	Target string
	// ViewerTarget, when set, is another node of the same cluster (sharing
	// its Redis and ledger) that the viewers connect to, while the chatters,
	// the REST calls and the server metrics stay on Target: the latencies
	// then include the hop from one node to another. Default: Target.
	ViewerTarget string
	// Viewers is the number of anonymous viewer connections. Default 1000.
	Viewers int
	// Rooms is how many fundraisers the viewers are spread over, round
	// robin. Default 1.
	Rooms int
	// Reconnect turns the run into a reconnect-storm measurement: no chat;
	// the viewers connect, subscribe and hold their connections for
	// Duration, and whenever one ends they reconnect as the SDK's clients
	// do (client.DefaultBackoff, the attempt count starting again once
	// subscribed) and subscribe again with since. Restart the server
	// meanwhile (scripts/storm-bench.sh does) and the report times each
	// wave: from the first viewer that lost its connection to the last one
	// subscribed again, with every failed handshake counted.
	Reconnect bool
	// Waves, with Reconnect, ends the run as soon as this many waves are
	// over, rather than at the end of Duration (which still bounds it).
	// 0: hold for Duration.
	Waves int
	// Stalled is a number of extra viewers that subscribe and then never
	// read again, over sockets with a small receive buffer: viewers whose
	// network or device froze. They are not measured; the report says how
	// the server ended them (slow-consumer closes, write timeouts), and a
	// paired run without them shows what they cost the others. 0: none.
	Stalled int
	// Ramp is how many viewer connections are opened per second. Default 500.
	Ramp int
	// ChatRate is chat messages per second over all rooms. Default 5.
	ChatRate float64
	// StickerRate is stickers per second over all rooms, sent by the
	// chatters alongside the chat. Stickers are volatile: the server may
	// drop them under pressure, so they are counted, not checked for loss.
	// 0: none.
	StickerRate float64
	// DonationRate is donations per second over all rooms, posted through
	// the REST API (sandbox payments: the server must not use a real
	// provider) during the chat phase. 0: none.
	DonationRate float64
	// Duration is how long the chat phase lasts. It starts once every viewer
	// is connected; the set-up and the ramp come before it, the drain and
	// the closing (a few seconds at most) after it. Default 30s.
	Duration time.Duration
	// Warmup is the start of the chat phase left out of the steady-state
	// window (latency, rates, CPU). Default 2s, and at most a third of
	// Duration.
	Warmup time.Duration
	// SourceIPs spreads the client sockets over the source addresses
	// 127.0.0.2 … 127.0.0.(1+SourceIPs), which multiplies the ephemeral
	// ports available. Only for an IPv4 loopback target. 0: the system picks.
	SourceIPs int
	// AdminToken creates the fundraisers (a nonprofit, a broadcaster and
	// Rooms fundraisers). Needed unless Fundraiser is set.
	AdminToken string
	// Fundraiser, when set, is the one room every viewer joins instead of
	// creating fundraisers.
	Fundraiser string
	// AllowRemote allows a target that is not a loopback address.
	AllowRemote bool
	// MaxP99 is a threshold: a steady-state p99 latency above it fails the
	// run. 0: no threshold.
	MaxP99 time.Duration
	// JSONPath, when set, receives the report as JSON ("-" is not special:
	// it is a file name).
	JSONPath string
	// HTMLPath, when set, receives the report as an HTML page with the
	// latency and delivery rate over time.
	HTMLPath string
	// Out receives a live line each second and the summary table at the end.
	// Default: discard.
	Out io.Writer
}

// Defaults, exported for the command line's usage text.
const (
	DefaultTarget   = "http://127.0.0.1:8080"
	DefaultViewers  = 1000
	DefaultRooms    = 1
	DefaultRamp     = 500
	DefaultChatRate = 5.0
	DefaultDuration = 30 * time.Second
	DefaultWarmup   = 2 * time.Second
)

// maxSourceIPs keeps the source addresses inside 127.0.0.2–127.0.0.254.
const maxSourceIPs = 253

// ErrRemoteTarget is returned for a target that is not a loopback address
// when Config.AllowRemote is false. No connection has been made.
var ErrRemoteTarget = errors.New("target is not a loopback address")

// withDefaults returns c with documented defaults filled in.
func (c Config) withDefaults() Config {
	if c.Target == "" {
		c.Target = DefaultTarget
	}
	setDefault(&c.Viewers, DefaultViewers)
	setDefault(&c.Rooms, DefaultRooms)
	setDefault(&c.Ramp, DefaultRamp)
	setDefault(&c.ChatRate, DefaultChatRate)
	setDefault(&c.Duration, DefaultDuration)
	setDefault(&c.Warmup, DefaultWarmup)
	if c.Duration > 0 && c.Warmup > c.Duration/3 {
		c.Warmup = c.Duration / 3
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate reports the first problem with c (after defaults), without
// touching the network. A target that is not loopback, when AllowRemote is
// false, is reported as ErrRemoteTarget.
func (c Config) Validate() error {
	c = c.withDefaults()
	u, err := targetURL(c.Target)
	if err != nil {
		return err
	}
	ip, loopback := loopbackHost(u.Hostname())
	if !loopback && !c.AllowRemote {
		return fmt.Errorf("%w: %s (-allow-remote, or Config.AllowRemote, permits a remote server)", ErrRemoteTarget, u.Host)
	}
	if c.ViewerTarget != "" {
		v, err := targetURL(c.ViewerTarget)
		if err != nil {
			return fmt.Errorf("viewer %w", err)
		}
		vip, vloop := loopbackHost(v.Hostname())
		if !vloop && !c.AllowRemote {
			return fmt.Errorf("%w: viewer target %s (-allow-remote, or Config.AllowRemote, permits a remote server)", ErrRemoteTarget, v.Host)
		}
		if c.SourceIPs > 0 && (vip == nil || vip.To4() == nil || !vip.IsLoopback()) {
			return errors.New("source IPs need an IPv4 loopback viewer target such as 127.0.0.1")
		}
	}
	switch {
	case c.Viewers < 0:
		return errors.New("viewers must be positive")
	case c.Rooms < 0:
		return errors.New("rooms must be positive")
	case c.Stalled < 0:
		return errors.New("stalled viewers must be zero or positive")
	case c.Waves < 0:
		return errors.New("waves must be zero or positive")
	case c.Ramp < 0:
		return errors.New("ramp must be positive")
	case c.ChatRate < 0 || math.IsNaN(c.ChatRate) || math.IsInf(c.ChatRate, 0):
		return errors.New("chat rate must be a positive number")
	case c.ChatRate > 10000:
		return errors.New("chat rate is at most 10000 messages per second")
	case c.StickerRate < 0 || math.IsNaN(c.StickerRate) || math.IsInf(c.StickerRate, 0):
		return errors.New("sticker rate must be zero or a positive number")
	case c.StickerRate > 10000:
		return errors.New("sticker rate is at most 10000 per second")
	case c.DonationRate < 0 || math.IsNaN(c.DonationRate) || math.IsInf(c.DonationRate, 0):
		return errors.New("donation rate must be zero or a positive number")
	case c.DonationRate > 2000:
		return errors.New("donation rate is at most 2000 per second")
	case c.Duration < 0 || c.Warmup < 0:
		return errors.New("duration and warm-up must be positive")
	case c.Duration < time.Second:
		return errors.New("duration must be at least 1s")
	case c.MaxP99 < 0:
		return errors.New("max p99 must be positive")
	case c.SourceIPs < 0 || c.SourceIPs > maxSourceIPs:
		return fmt.Errorf("source IPs must be from 0 to %d", maxSourceIPs)
	case c.SourceIPs > 0 && (ip == nil || ip.To4() == nil || !ip.IsLoopback()):
		return errors.New("source IPs need an IPv4 loopback target such as 127.0.0.1")
	}
	if c.Fundraiser != "" {
		if !wire.ValidRoom(c.Fundraiser) {
			return fmt.Errorf("fundraiser %q is not a valid id", c.Fundraiser)
		}
		if c.Rooms > 1 {
			return errors.New("a given fundraiser is one room: rooms must be 1")
		}
	} else if c.AdminToken == "" {
		return errors.New("an admin token is needed to create fundraisers (or give a fundraiser to join)")
	}
	return nil
}

// targetURL parses a base URL: http or https, a host, no query.
func targetURL(target string) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("target %q is not a URL: %w", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target %q must be an http:// or https:// URL", target)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("target %q has no host", target)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("target %q must be a base URL without query or fragment", target)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// loopbackHost reports whether host is a loopback address without
// resolving it: an IP literal in 127.0.0.0/8 or ::1, or localhost (which
// RFC 6761 reserves for loopback). ip is the literal, if host is one.
func loopbackHost(host string) (ip net.IP, loopback bool) {
	if ip = net.ParseIP(host); ip != nil {
		return ip, ip.IsLoopback()
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return nil, h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// chattersPerRoom is how many chatter sessions share a room's messages so
// that each stays under the server's per-user limits of one chat and two
// stickers per second (with a margin of one session).
func (c Config) chattersPerRoom() int {
	chats := c.ChatRate / float64(c.roomCount())
	stickers := c.StickerRate / float64(c.roomCount()) / 2
	return int(math.Ceil(max(chats, stickers))) + 1
}

func (c Config) roomCount() int {
	if c.Fundraiser != "" {
		return 1
	}
	return c.Rooms
}
