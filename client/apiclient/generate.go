// Package apiclient is a Go client for GiveLive's REST API (/api/v1),
// generated from the server's api/openapi.yaml.
//
// Entry points: NewClientWithResponses(baseURL + "/api/v1", opts...) returns
// a client whose methods decode each documented answer into typed fields
// (JSON200, JSON201, ApplicationproblemJSON400, ...). Pass the bearer token
// with WithRequestEditorFn. The WebSocket side lives in package client.
//
// Concurrency: a client is safe for concurrent use if its HTTP client is.
package apiclient

// The client and models are generated from the server's api/openapi.yaml and
// committed; CI regenerates them and fails on any difference.
//go:generate go tool -modfile=../../tools/oapi-codegen/go.mod oapi-codegen -config oapi-codegen.yaml ../../api/openapi.yaml
