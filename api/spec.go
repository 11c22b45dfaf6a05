package api

import (
	"bytes"
	"context"
	_ "embed" // for the spec
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// specYAML is the OpenAPI document the API is generated from and validated
// against, served as-is at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var specYAML []byte

// loadSpec parses and validates the embedded spec.
func loadSpec() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(specYAML)
	if err != nil {
		return nil, fmt.Errorf("failed to load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("failed to validate openapi.yaml: %w", err)
	}
	return doc, nil
}

// GetOpenAPISpec serves the embedded spec.
func (h *handlers) GetOpenAPISpec(context.Context, GetOpenAPISpecRequestObject) (GetOpenAPISpecResponseObject, error) {
	return GetOpenAPISpec200ApplicationyamlResponse{
		Body:          bytes.NewReader(specYAML),
		ContentLength: int64(len(specYAML)),
	}, nil
}
