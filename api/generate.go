package api

// The server stubs and models are generated from openapi.yaml and committed;
// CI regenerates them and fails on any difference.
//go:generate go tool -modfile=../tools/oapi-codegen/go.mod oapi-codegen -config oapi-codegen.yaml openapi.yaml
