package ingest

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
	"github.com/prometheus/client_golang/prometheus"
)

// pionLogs sends pion's logs to slog at debug level: what pion calls
// errors are mostly a stranger's packets or a publisher that went away,
// which the session logs in its own words.
type pionLogs struct{ log *slog.Logger }

func (p pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{p.log.With("scope", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(msg string)                  {}
func (l pionLogger) Tracef(format string, args ...any) {}
func (l pionLogger) Debug(msg string)                  { l.logf("%s", msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(format, args...) }
func (l pionLogger) Info(msg string)                   { l.logf("%s", msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(format, args...) }
func (l pionLogger) Warn(msg string)                   { l.logf("%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(format, args...) }
func (l pionLogger) Error(msg string)                  { l.logf("%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(format, args...) }

// whipMetrics are the WHIP door's own figures (refusals and publishes are
// counted with RTMP's, in givelive_ingest_*).
type whipMetrics struct {
	sessions prometheus.Gauge
	plis     prometheus.Counter
}

func newWHIPMetrics(reg prometheus.Registerer) (*whipMetrics, error) {
	m := &whipMetrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "givelive_whip_sessions", Help: "WHIP (WebRTC) publish sessions open now, connected or not yet.",
		}),
		plis: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "givelive_whip_keyframe_requests_total", Help: "Keyframes asked of WHIP publishers (RTCP PLI).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sessions, m.plis} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ingest: failed to register WHIP metrics: %w", err)
		}
	}
	return m, nil
}
