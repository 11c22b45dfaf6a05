package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Report is the outcome of a run. Its JSON form (the field tags) is what
// -json writes; counts cover the whole chat phase unless their name says
// window, and rates, latency and CPU cover the steady-state window only.
//
// Deliveries count load-test chat events received by viewers (first copies
// only); the chatters' own copies are not counted. The expected count is,
// for every viewer that joined before the chat began, the chats its room's
// chatters had accepted (answered ok) by the end.
type Report struct {
	Target string `json:"target"`
	// ViewerTarget is the node the viewers used, when not Target.
	ViewerTarget string   `json:"viewer_target,omitempty"`
	Rooms        []string `json:"rooms"`
	Viewers      int      `json:"viewers"`
	Ramp         int      `json:"ramp_per_sec"`
	ChatRate     float64  `json:"chat_rate"`
	Duration     float64  `json:"duration_s"`
	Warmup       float64  `json:"warmup_s"`
	SourceIPs    int      `json:"source_ips"`
	Chatters     int      `json:"chatters"`
	StartedAt    string   `json:"started_at"`

	// Stalled viewers (Config.Stalled): how many subscribed before they
	// stopped reading.
	Stalled          int `json:"stalled_viewers,omitempty"`
	StalledConnected int `json:"stalled_connected,omitempty"`

	ViewersConnected int       `json:"viewers_connected"`
	ViewersFailed    int       `json:"viewers_failed"`
	ConnectMS        Quantiles `json:"connect_ms"`
	RampSeconds      float64   `json:"ramp_s"`

	ChatsSent          int64 `json:"chats_sent"`
	ChatsAccepted      int64 `json:"chats_accepted"`
	ExpectedDeliveries int64 `json:"expected_deliveries"`
	Deliveries         int64 `json:"deliveries"`
	Lost               int64 `json:"lost"`       // recoverable events skipped in a live stream (offset gaps)
	Missing            int64 `json:"missing"`    // expected deliveries that never arrived (gaps, closed connections, the tail)
	Duplicated         int64 `json:"duplicated"` // recoverable events received twice
	Foreign            int64 `json:"foreign_chats"`

	WindowSeconds    float64   `json:"window_s"`
	WindowDeliveries int64     `json:"window_deliveries"`
	DeliveriesPerSec float64   `json:"deliveries_per_sec"`
	LatencyMS        Quantiles `json:"latency_ms"`

	// Donations, when -donation-rate is set: POSTed through the API and
	// timed from the POST to each viewer's receipt (the whole run, not
	// only the window). Expected deliveries assume every accepted donation
	// reached its room (round robin over rooms).
	DonationRate               float64   `json:"donation_rate,omitempty"`
	DonationsSent              int64     `json:"donations_sent,omitempty"`
	DonationsAccepted          int64     `json:"donations_accepted,omitempty"`
	DonationsFailed            int64     `json:"donations_failed,omitempty"`
	DonationPostMS             Quantiles `json:"donation_post_ms,omitzero"`
	DonationDeliveries         int64     `json:"donation_deliveries,omitempty"`
	ExpectedDonationDeliveries int64     `json:"expected_donation_deliveries,omitempty"`
	DonationLatencyMS          Quantiles `json:"donation_latency_ms,omitzero"`

	// Stickers, when -sticker-rate is set: sent by the chatters, timed from
	// the server's publish time (the event's ts, in milliseconds) to each
	// viewer's receipt. Volatile, so not checked for loss.
	StickerRate       float64   `json:"sticker_rate,omitempty"`
	StickersSent      int64     `json:"stickers_sent,omitempty"`
	StickersAccepted  int64     `json:"stickers_accepted,omitempty"`
	StickerDeliveries int64     `json:"sticker_deliveries,omitempty"`
	StickerLatencyMS  Quantiles `json:"sticker_latency_ms,omitzero"`

	// Reconnect storms (Config.Reconnect): every wave of reconnects seen.
	Reconnect bool   `json:"reconnect,omitempty"`
	Waves     []Wave `json:"waves,omitempty"`

	// Timeline has one point per second of the run: latency of the chats
	// received in that second, and the delivery rate.
	Timeline []TimelinePoint `json:"timeline,omitempty"`

	Errors     map[string]int64 `json:"errors"`
	CloseCodes map[string]int64 `json:"close_codes"`

	ServerMetrics           bool    `json:"server_metrics"` // false: /metrics could not be read; server fields are zero
	ServerGOMAXPROCS        int     `json:"server_gomaxprocs"`
	ServerCPUSeconds        float64 `json:"server_cpu_seconds"`         // in the window
	ServerCPUUsPerDelivery  float64 `json:"server_cpu_us_per_delivery"` // per event the server wrote, in the window
	ServerCPUUsPerFrame     float64 `json:"server_cpu_us_per_frame"`
	ServerCPUCores          float64 `json:"server_cpu_cores"` // CPU seconds per second in the window
	ServerRSSBytes          int64   `json:"server_rss_bytes"` // at the end of the window
	ServerRSSIdleBytes      int64   `json:"server_rss_idle_bytes"`
	ServerRSSConnectedBytes int64   `json:"server_rss_connected_bytes"`
	ServerRSSPerConnBytes   float64 `json:"server_rss_per_conn_bytes"`        // (connected − idle) / connections opened
	ServerRSSPerConnSteady  float64 `json:"server_rss_per_conn_steady_bytes"` // (end of window − idle) / connections opened
	ServerHeapPerConnBytes  float64 `json:"server_heap_per_conn_bytes"`       // Go heap in use, (connected − idle) / connections opened
	ServerStackPerConnBytes float64 `json:"server_stack_per_conn_bytes"`      // goroutine stacks, likewise
	ServerConnections       int64   `json:"server_connections"`
	ServerFramesWritten     int64   `json:"server_frames_written"`   // in the window
	ServerEventsDelivered   int64   `json:"server_events_delivered"` // in the window, every type and connection
	ServerEventsPerFrame    float64 `json:"server_events_per_frame"`
	ServerSlowConsumer      int64   `json:"server_slow_consumer_closes"` // during the whole test
	ServerQueueDrops        int64   `json:"server_queue_drops"`          // during the whole test
	ServerWriteTimeouts     int64   `json:"server_write_timeouts"`       // slow consumers closed for a stuck write, during the whole test
	ServerPingTimeouts      int64   `json:"server_ping_timeouts"`        // during the whole test

	GeneratorGOMAXPROCS       int     `json:"generator_gomaxprocs"`
	GeneratorCPUSeconds       float64 `json:"generator_cpu_seconds"` // in the window
	GeneratorCPUCores         float64 `json:"generator_cpu_cores"`
	GeneratorCPUUsPerDelivery float64 `json:"generator_cpu_us_per_delivery"`
	GeneratorMaxRSSBytes      int64   `json:"generator_max_rss_bytes"`

	MaxP99MS float64  `json:"max_p99_ms,omitempty"`
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures"`
}

// Quantiles summarises a histogram in milliseconds.
type Quantiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

func quantiles(h *hdrhistogram.Histogram) Quantiles {
	if h.TotalCount() == 0 {
		return Quantiles{}
	}
	ms := func(us int64) float64 { return math.Round(float64(us)) / 1000 }
	return Quantiles{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

// judge fills Passed and Failures: a run fails when a viewer did not
// connect, anything was lost, missing or duplicated, a chat was refused,
// or the p99 threshold was missed.
func (r *Report) judge(maxP99 time.Duration) {
	r.Failures = []string{}
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	if r.ViewersConnected < r.Viewers {
		fail("%d of %d viewers did not connect", r.Viewers-r.ViewersConnected, r.Viewers)
	}
	if r.Reconnect {
		for i, w := range r.Waves {
			if w.AllBackS == 0 {
				fail("wave %d: only %d of %d disconnected viewers came back", i+1, w.DownMS.Count, w.Disconnected)
			}
			if w.Failed > 0 {
				fail("wave %d: %d failed handshakes", i+1, w.Failed)
			}
		}
		r.Passed = len(r.Failures) == 0
		return
	}
	if r.StalledConnected < r.Stalled {
		fail("%d of %d stalled viewers did not subscribe", r.Stalled-r.StalledConnected, r.Stalled)
	}
	if r.Lost > 0 {
		fail("%d events lost (offset gaps)", r.Lost)
	}
	if r.Missing > 0 {
		fail("%d expected deliveries missing", r.Missing)
	}
	if r.Duplicated > 0 {
		fail("%d events duplicated on a live connection", r.Duplicated)
	}
	if r.ChatsAccepted < r.ChatsSent {
		fail("%d of %d chats not accepted", r.ChatsSent-r.ChatsAccepted, r.ChatsSent)
	}
	if r.ChatsAccepted == 0 {
		fail("no chat was accepted")
	}
	if maxP99 > 0 {
		r.MaxP99MS = float64(maxP99) / float64(time.Millisecond)
		if r.LatencyMS.Count == 0 {
			fail("no latency measured in the window for the p99 threshold")
		} else if r.LatencyMS.P99 > r.MaxP99MS {
			fail("p99 latency %.1f ms is over the threshold %.1f ms", r.LatencyMS.P99, r.MaxP99MS)
		}
	}
	r.Passed = len(r.Failures) == 0
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func writeJSONFile(path string, r *Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("failed to write the JSON report: %w", err)
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("failed to write the JSON report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to write the JSON report: %w", err)
	}
	return nil
}

// WriteSummary writes the report as a table for people.
func (r *Report) WriteSummary(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	fmt.Fprintln(tw, "\nGiveLive load test\t"+r.Target)
	if r.ViewerTarget != "" {
		row("viewers on", "%s", r.ViewerTarget)
	}
	row("rooms", "%d (%s)", len(r.Rooms), abbreviate(r.Rooms, 3))
	row("viewers connected", "%d of %d in %.1f s; connect p50 %.1f ms, p99 %.1f ms, max %.1f ms",
		r.ViewersConnected, r.Viewers, r.RampSeconds, r.ConnectMS.P50, r.ConnectMS.P99, r.ConnectMS.Max)
	if r.Reconnect {
		r.writeStorm(row)
		return tw.Flush()
	}
	row("chat", "%d sent, %d accepted by %d chatters (%.3g/s for %.0f s, first %.0f s warm-up)",
		r.ChatsSent, r.ChatsAccepted, r.Chatters, r.ChatRate, r.Duration, r.Warmup)
	row("deliveries", "%d of %d expected; lost %d, missing %d, duplicated %d",
		r.Deliveries, r.ExpectedDeliveries, r.Lost, r.Missing, r.Duplicated)
	row("steady window", "%.1f s: %.0f deliveries/s (%d deliveries)",
		r.WindowSeconds, r.DeliveriesPerSec, r.WindowDeliveries)
	row("latency (ms)", "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (%d samples)",
		r.LatencyMS.P50, r.LatencyMS.P90, r.LatencyMS.P99, r.LatencyMS.P999, r.LatencyMS.Max, r.LatencyMS.Count)
	if r.DonationRate > 0 {
		row("donations", "%d sent, %d accepted, %d failed (%.3g/s); POST p50 %.2f ms, p99 %.2f ms",
			r.DonationsSent, r.DonationsAccepted, r.DonationsFailed, r.DonationRate, r.DonationPostMS.P50, r.DonationPostMS.P99)
		row("donation receipts", "%d of %d expected; POST to receipt p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms",
			r.DonationDeliveries, r.ExpectedDonationDeliveries, r.DonationLatencyMS.P50, r.DonationLatencyMS.P90,
			r.DonationLatencyMS.P99, r.DonationLatencyMS.P999, r.DonationLatencyMS.Max)
	}
	if r.StickerRate > 0 {
		row("stickers", "%d sent, %d accepted (%.3g/s); %d receipts; server publish to receipt p50 %.0f  p99 %.0f  max %.0f ms",
			r.StickersSent, r.StickersAccepted, r.StickerRate, r.StickerDeliveries,
			r.StickerLatencyMS.P50, r.StickerLatencyMS.P99, r.StickerLatencyMS.Max)
	}
	if r.ServerMetrics {
		row("server CPU", "%.2f cores, %.2f µs per delivery, %.2f µs per frame (GOMAXPROCS %d)",
			r.ServerCPUCores, r.ServerCPUUsPerDelivery, r.ServerCPUUsPerFrame, r.ServerGOMAXPROCS)
		row("server memory", "RSS %s idle, %s connected, %s at the end; %.1f KiB per connection (%.1f KiB at the end)",
			mib(r.ServerRSSIdleBytes), mib(r.ServerRSSConnectedBytes), mib(r.ServerRSSBytes),
			r.ServerRSSPerConnBytes/1024, r.ServerRSSPerConnSteady/1024)
		row("", "of which Go heap in use %.1f KiB and goroutine stacks %.1f KiB per connection",
			r.ServerHeapPerConnBytes/1024, r.ServerStackPerConnBytes/1024)
		row("server writes", "%d frames, %d events (%.2f per frame); %d slow-consumer closes, %d volatile drops",
			r.ServerFramesWritten, r.ServerEventsDelivered, r.ServerEventsPerFrame, r.ServerSlowConsumer, r.ServerQueueDrops)
		if r.Stalled > 0 {
			row("stalled viewers", "%d of %d subscribed, then stopped reading; the server closed %d slow consumers with 4000 (%d after a stuck write), %d ping timeouts",
				r.StalledConnected, r.Stalled, r.ServerSlowConsumer, r.ServerWriteTimeouts, r.ServerPingTimeouts)
		}
	} else {
		row("server", "no /metrics: server figures unavailable")
	}
	row("generator CPU", "%.2f cores, %.2f µs per delivery (GOMAXPROCS %d, peak RSS %s)",
		r.GeneratorCPUCores, r.GeneratorCPUUsPerDelivery, r.GeneratorGOMAXPROCS, mib(r.GeneratorMaxRSSBytes))
	row("errors", "%s", counts(r.Errors))
	row("close codes", "%s", counts(r.CloseCodes))
	if r.Passed {
		row("result", "PASS")
	} else {
		row("result", "FAIL: %s", strings.Join(r.Failures, "; "))
	}
	return tw.Flush()
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func counts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func abbreviate(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(", … %d more", len(s)-n)
}

// writeStorm writes the rows of a reconnect-storm run.
func (r *Report) writeStorm(row func(k, format string, args ...any)) {
	if len(r.Waves) == 0 {
		row("reconnects", "none: no viewer lost its connection in %.0f s", r.Duration)
	}
	for i, w := range r.Waves {
		back := "NOT all back by the end"
		if w.AllBackS > 0 {
			back = fmt.Sprintf("all back %.2f s after the first disconnect (first back after %.2f s; %.0f subscriptions/s)",
				w.AllBackS, w.FirstBackS, w.HandshakesPS)
		}
		row(fmt.Sprintf("wave %d at %.1f s", i+1, w.StartS), "%d disconnected (close codes: %s); %s",
			w.Disconnected, counts(w.CloseCodes), back)
		row("", "%d dials: %d refused (nothing listening), %d failed handshakes (%s)",
			w.Dials, w.Refused, w.Failed, counts(w.FailedKinds))
		row("", "each viewer down p50 %.0f ms, p99 %.0f ms, max %.0f ms", w.DownMS.P50, w.DownMS.P99, w.DownMS.Max)
	}
	if r.ServerMetrics {
		row("server memory", "RSS %s idle, %s connected; %.1f KiB per connection",
			mib(r.ServerRSSIdleBytes), mib(r.ServerRSSConnectedBytes), r.ServerRSSPerConnBytes/1024)
	}
	row("errors", "%s", counts(r.Errors))
	if r.Passed {
		row("result", "PASS")
	} else {
		row("result", "FAIL: %s", strings.Join(r.Failures, "; "))
	}
}
