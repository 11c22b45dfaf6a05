// Package api serves GiveLive's HTTP interface with Echo: the REST API under
// /api/v1 (described by openapi.yaml, which is embedded and served at
// /api/v1/openapi.yaml), the WebSocket mount at /ws, and /healthz, /readyz
// and /metrics.
//
// The API is spec-first. openapi.gen.go is generated from openapi.yaml by
// oapi-codegen (see generate.go); every request under /api/v1 is checked
// against the spec with kin-openapi before a handler sees it, and every
// error, Echo's own included, is an RFC 9457 application/problem+json
// document.
//
// Entry points: New builds a Server from a Config; Server.Handler is the
// http.Handler to serve.
//
// Concurrency: a Server is immutable after New; its Handler is safe for
// concurrent use.
package api
