package stripe

import (
	"context"
	"fmt"
	"log/slog"
)

// logger hands stripe-go's log lines to a slog.Logger. stripe-go's debug
// lines hold whole response bodies, client secrets included, so they are
// dropped; its info lines (one or two per request, and card declines) become
// debug; warnings (retries) and errors keep their level.
type logger struct{ l *slog.Logger }

func newLogger(l *slog.Logger) logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return logger{l: l.With("component", "stripe")}
}

func (logger) Debugf(context.Context, string, ...any) {}

func (g logger) Infof(ctx context.Context, format string, v ...any) {
	g.log(ctx, slog.LevelDebug, format, v)
}

func (g logger) Warnf(ctx context.Context, format string, v ...any) {
	g.log(ctx, slog.LevelWarn, format, v)
}

func (g logger) Errorf(ctx context.Context, format string, v ...any) {
	g.log(ctx, slog.LevelError, format, v)
}

func (g logger) log(ctx context.Context, level slog.Level, format string, v []any) {
	if ctx == nil {
		ctx = context.Background()
	}
	if g.l.Enabled(ctx, level) {
		g.l.Log(ctx, level, fmt.Sprintf(format, v...))
	}
}
