package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"

	"github.com/labstack/echo/v4"

	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/store"
)

// contentTypeProblem is RFC 9457's media type, used for every error.
const contentTypeProblem = "application/problem+json"

// Problem types beyond about:blank, for problems whose status alone does not
// say what to do.
const (
	typeValidation    = "urn:givelive:problem:validation"
	typeUnprocessable = "urn:givelive:problem:unprocessable"
	typeRateLimited   = "urn:givelive:problem:rate-limited"
	typeNotReady      = "urn:givelive:problem:not-ready"
	typeIdempotency   = "urn:givelive:problem:idempotency-key-reused"
	typeProvider      = "urn:givelive:problem:payment-provider"
	typeSignature     = "urn:givelive:problem:bad-signature"
)

// problem is an error a handler or middleware returns to be answered as a
// problem document. cause, if any, is logged and never shown.
type problem struct {
	status int
	typ    string
	detail string
	fields []FieldError
	checks map[string]string // readiness checks, /readyz only
	cause  error
}

func (p *problem) Error() string {
	if p.cause != nil {
		return fmt.Sprintf("%d %s: %v", p.status, p.detail, p.cause)
	}
	return fmt.Sprintf("%d %s", p.status, p.detail)
}

func (p *problem) Unwrap() error { return p.cause }

// problemBody is the document on the wire: the spec's Problem plus the
// readiness checks of /readyz.
type problemBody struct {
	Problem
	Checks map[string]string `json:"checks,omitempty"`
}

// notFound is the 404 for a record that does not exist.
func notFound(what string) *problem {
	return &problem{status: http.StatusNotFound, detail: "No " + what + " has this id."}
}

// unprocessable is the 422 for a well-formed field that refers to something
// unusable.
func unprocessable(field, message string) *problem {
	return &problem{
		status: http.StatusUnprocessableEntity,
		typ:    typeUnprocessable,
		detail: field + ": " + message,
		fields: []FieldError{{Field: field, Message: message}},
	}
}

// handleError is Echo's HTTPErrorHandler: every error, Echo's own 404, 405
// and 413 included, leaves as application/problem+json.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := toProblem(err)
	body := problemBody{Problem: Problem{
		Type:   p.typ,
		Title:  http.StatusText(p.status),
		Status: p.status,
	}, Checks: p.checks}
	if body.Type == "" {
		body.Type = "about:blank"
	}
	if p.detail != "" {
		body.Detail = &p.detail
	}
	if len(p.fields) > 0 {
		body.Errors = &p.fields
	}
	instance := c.Request().URL.Path
	body.Instance = &instance
	if id := requestIDFrom(c); id != "" {
		body.RequestId = &id
	}
	s.writeProblem(c, p.status, body)
}

func (s *Server) writeProblem(c echo.Context, status int, body problemBody) {
	b, err := json.Marshal(body)
	if err != nil {
		s.log.Error("failed to encode problem", "err", err, "request_id", requestIDFrom(c))
		b = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
		status = http.StatusInternalServerError
	}
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(status)
	} else {
		err = c.Blob(status, contentTypeProblem, b)
	}
	if err != nil {
		s.log.Debug("failed to write problem", "err", err, "request_id", requestIDFrom(c))
	}
}

// toProblem maps any error to a problem. Unknown errors are 500s whose
// detail says nothing about their cause.
func toProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return fromHTTPError(he)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &problem{status: http.StatusServiceUnavailable, detail: "The request took too long; try again.", cause: err}
	case errors.Is(err, context.Canceled):
		return &problem{status: http.StatusServiceUnavailable, detail: "The request was cancelled.", cause: err}
	case errors.Is(err, store.ErrNotFound):
		return &problem{status: http.StatusNotFound, detail: "No such record.", cause: err}
	case errors.Is(err, auth.ErrInvalidToken):
		return &problem{status: http.StatusUnauthorized, detail: "The bearer token is not valid.", cause: err}
	}
	return &problem{
		status: http.StatusInternalServerError,
		detail: "Something went wrong on our side. Quote the request_id if you report it.",
		cause:  err,
	}
}

// fromHTTPError turns Echo's errors (router, body limit, middleware, auth)
// into problems, replacing Echo's terse messages with sentences.
func fromHTTPError(he *echo.HTTPError) *problem {
	var ute *json.UnmarshalTypeError
	if errors.As(he.Internal, &ute) && ute.Field != "" {
		// Binding met a value the validator let through (5e2 for an
		// integer): name the field in plain words, not Go's.
		fe := FieldError{Field: ute.Field, Message: typeMessage(ute.Type.Kind())}
		return &problem{
			status: http.StatusBadRequest,
			typ:    typeValidation,
			detail: "The request is not valid. " + fe.Field + ": " + fe.Message + ".",
			fields: []FieldError{fe},
			cause:  he.Internal,
		}
	}
	p := &problem{status: he.Code, cause: he.Internal}
	if msg, ok := he.Message.(string); ok && msg != http.StatusText(he.Code) {
		p.detail = msg
	}
	if p.detail == "" {
		p.detail = defaultDetail(he.Code)
	}
	if he.Code == http.StatusServiceUnavailable && errors.Is(he.Internal, context.DeadlineExceeded) {
		p.detail = "The request took too long; try again."
	}
	return p
}

// typeMessage says what a value bound into a field of kind k must be.
func typeMessage(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "must be a whole number, written without a decimal point or exponent"
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be true or false"
	}
	return "is not of the right type"
}

func defaultDetail(status int) string {
	switch status {
	case http.StatusNotFound:
		return "There is nothing at this path."
	case http.StatusMethodNotAllowed:
		return "This path does not accept this method; the Allow header lists those it does."
	case http.StatusRequestEntityTooLarge:
		return "The request body is too large."
	case http.StatusUnsupportedMediaType:
		return "Send the request body as application/json."
	case http.StatusTooManyRequests:
		return "Too many requests; wait as long as Retry-After says."
	}
	if status >= 500 {
		return "Something went wrong on our side. Quote the request_id if you report it."
	}
	if text := http.StatusText(status); text != "" {
		return text + "."
	}
	return "The request failed."
}
