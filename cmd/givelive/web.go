package main

import (
	"log/slog"
	"net/http"

	"github.com/givelive/givelive/client/web"
)

// newWebApp is the web app embedded in the binary; without its bundle the
// pages answer 503 and the log says how to build it.
func newWebApp(log *slog.Logger) *web.Handler {
	return web.New(web.Options{Logger: log.With("component", "web")})
}

// routeWeb sends the web app's paths (/, /f/{id}, /assets/) to app, with
// its own caching and Content-Security-Policy, and everything else (/api,
// /ws, /hls, /metrics, /healthz, /readyz) on to rest.
func routeWeb(app, rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.Owns(r.URL.Path) {
			app.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}
