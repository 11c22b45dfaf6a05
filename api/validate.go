package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
)

// fieldBody names the whole request body in FieldError.Field.
const fieldBody = "body"

// validator checks requests against the spec with kin-openapi and turns its
// errors into 400 problems that name each field in plain words.
type validator struct {
	opts *openapi3filter.Options
}

func newValidator() *validator {
	return &validator{opts: &openapi3filter.Options{
		// Report every bad field at once, not just the first.
		MultiError: true,
		// Security is checked by package auth before validation.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Leave the validated value on the body, so the generated strict
		// handler binds exactly what was validated (member names matched
		// exactly, not case-insensitively as encoding/json would).
		KeepValidatedValue: true,
	}}
}

// middleware validates requests for one operation of the spec.
func (v *validator) middleware(route *routers.Route) echo.MiddlewareFunc {
	hasBody := route.Operation.RequestBody != nil
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if hasBody {
				if err := checkContentType(req); err != nil {
					return err
				}
				if err := checkBody(req); err != nil {
					return err
				}
			}
			names, values := c.ParamNames(), c.ParamValues()
			params := make(map[string]string, len(names))
			for i, n := range names {
				params[n] = values[i]
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.opts}
			if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
				return validationProblem(err)
			}
			return next(c)
		}
	}
}

// checkContentType refuses a body that is not declared as JSON with 415. An
// empty body passes, for the validator to call it missing.
func checkContentType(r *http.Request) error {
	if r.ContentLength == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err == nil && mt == echo.MIMEApplicationJSON {
		return nil
	}
	return &problem{
		status: http.StatusUnsupportedMediaType,
		detail: "Send the request body as JSON, with Content-Type: application/json.",
	}
}

// checkBody refuses with 400 a body that is not valid UTF-8, or not
// exactly one JSON value, or that names a member twice. JSON decoders would
// quietly turn bad bytes into U+FFFD, stop after the first value, and keep
// the last of two members, so the request validated, the request recorded
// and the request the sender meant could all differ. The body is read here
// (the body limit applies) and put back.
func checkBody(r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return &problem{status: http.StatusBadRequest, detail: "The request body could not be read.", cause: err}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !utf8.Valid(body) {
		return &problem{
			status: http.StatusBadRequest,
			typ:    typeValidation,
			detail: "The request is not valid. body: is not valid UTF-8.",
			fields: []FieldError{{Field: fieldBody, Message: "is not valid UTF-8"}},
		}
	}
	if fe := oneJSONValue(body); fe != nil {
		return &problem{
			status: http.StatusBadRequest,
			typ:    typeValidation,
			detail: "The request is not valid. " + fe.Field + ": " + fe.Message + ".",
			fields: []FieldError{*fe},
		}
	}
	return nil
}

// oneJSONValue checks that body is one JSON value with nothing but white
// space after it, and that no object in it names a member twice. Syntax
// errors are left to the validator, which names them in its own words.
func oneJSONValue(body []byte) *FieldError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	fe, err := checkValue(dec, "", 0)
	if fe != nil || err != nil {
		return fe // err: a syntax error, for the validator to report
	}
	if _, err := dec.Token(); err != io.EOF {
		return &FieldError{Field: fieldBody, Message: "must be one JSON object with nothing after it"}
	}
	return nil
}

// maxJSONDepth bounds how deeply a request body may nest; no request of
// the API nests more than a few levels.
const maxJSONDepth = 16

// checkValue reads one JSON value from dec, at path, and checks its
// objects for members named twice.
func checkValue(dec *json.Decoder, path string, depth int) (*FieldError, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	open, ok := tok.(json.Delim)
	if !ok {
		return nil, nil
	}
	if depth >= maxJSONDepth {
		return &FieldError{Field: pathOr(path, fieldBody), Message: "is nested too deeply"}, nil
	}
	seen := map[string]bool{}
	for i := 0; dec.More(); i++ {
		child := strconv.Itoa(i)
		if open == '{' {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			child, _ = tok.(string)
			if seen[child] {
				return &FieldError{Field: joinPath(path, child), Message: "appears more than once"}, nil
			}
			seen[child] = true
		}
		if fe, err := checkValue(dec, joinPath(path, child), depth+1); fe != nil || err != nil {
			return fe, err
		}
	}
	_, err = dec.Token() // the closing } or ]
	return nil, err
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func pathOr(path, otherwise string) string {
	if path == "" {
		return otherwise
	}
	return path
}

// validationProblem turns kin-openapi's errors into one 400 problem, or
// passes on the body limit's 413 met while reading the body.
func validationProblem(err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he
	}
	fields := dedupe(collect(nil, err))
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return &problem{
		status: http.StatusBadRequest,
		typ:    typeValidation,
		detail: "The request is not valid. " + strings.Join(parts, "; ") + ".",
		fields: fields,
	}
}

// collect flattens kin-openapi's error tree into field errors, in the
// validator's order.
func collect(out []FieldError, err error) []FieldError {
	if me, ok := err.(openapi3.MultiError); ok {
		for _, e := range me {
			out = collect(out, e)
		}
		return out
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		return fromRequestError(out, re)
	}
	return append(out, FieldError{Field: "request", Message: "is not valid"})
}

func fromRequestError(out []FieldError, re *openapi3filter.RequestError) []FieldError {
	if p := re.Parameter; p != nil {
		return fromCause(out, p.Name, p, re.Err)
	}
	return fromCause(out, fieldBody, nil, re.Err)
}

// fromCause explains the cause of one RequestError. param is nil for the
// body.
func fromCause(out []FieldError, name string, param *openapi3.Parameter, err error) []FieldError {
	if me, ok := err.(openapi3.MultiError); ok {
		for _, e := range me {
			out = fromCause(out, name, param, e)
		}
		return out
	}
	var se *openapi3.SchemaError
	var pe *openapi3filter.ParseError
	switch {
	case errors.As(err, &se):
		return append(out, schemaFieldError(name, param != nil, se))
	case errors.Is(err, openapi3filter.ErrInvalidRequired) && param == nil:
		return append(out, FieldError{Field: fieldBody, Message: "is required: send a JSON object"})
	case errors.Is(err, openapi3filter.ErrInvalidRequired):
		return append(out, FieldError{Field: name, Message: "is required"})
	case errors.Is(err, openapi3filter.ErrInvalidEmptyValue):
		return append(out, FieldError{Field: name, Message: "must not be empty"})
	case errors.As(err, &pe) && param == nil:
		return append(out, FieldError{Field: fieldBody, Message: "is not valid JSON"})
	case errors.As(err, &pe) && param.Schema != nil && param.Schema.Value != nil:
		return append(out, FieldError{Field: name, Message: "must be " + describeType(param.Schema.Value)})
	}
	return append(out, FieldError{Field: name, Message: "is not valid"})
}

// schemaFieldError names the field a schema error is about (a dotted path
// into the body, or the parameter's name) and says what is wrong with it.
func schemaFieldError(name string, isParam bool, se *openapi3.SchemaError) FieldError {
	path := se.JSONPointer()
	if se.SchemaField == "properties" { // an unknown member: name it
		var key string
		if _, err := fmt.Sscanf(se.Reason, "property %q is unsupported", &key); err == nil {
			path = append(path, key)
		}
	}
	field := strings.Join(path, ".")
	switch {
	case isParam && field != "":
		field = name + "." + field
	case isParam || field == "":
		field = name
	}
	return FieldError{Field: field, Message: schemaMessage(se, field == fieldBody && !isParam)}
}

// schemaMessage says in plain words which rule of the schema the value
// broke. It never repeats the value.
func schemaMessage(se *openapi3.SchemaError, wholeBody bool) string {
	s := se.Schema
	switch se.SchemaField {
	case "required":
		return "is required"
	case "properties":
		return "is not a known field"
	case "type", "nullable":
		if wholeBody {
			return "must be a JSON object"
		}
		if se.Value == nil {
			return "must not be null"
		}
		return "must be " + describeType(s)
	case "minLength":
		if s.MinLength == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long", s.MinLength)
	case "maxLength":
		return fmt.Sprintf("must be at most %d characters long", *s.MaxLength)
	case "minimum":
		return "must be at least " + formatNumber(*s.Min)
	case "maximum":
		return "must be at most " + formatNumber(*s.Max)
	case "pattern":
		return patternMessage(s.Pattern)
	case "enum":
		return "must be one of " + joinEnum(s.Enum)
	}
	return "is not valid"
}

// patternMessage explains the spec's patterns; others are quoted.
func patternMessage(pattern string) string {
	switch pattern {
	case `^[A-Z]{2}$`:
		return "must be a two-letter country code in capitals (ISO 3166-1 alpha-2), such as GB"
	case `^[A-Z]{3}$`:
		return "must be a three-letter currency code in capitals (ISO 4217), such as USD"
	case `^[\x21-\x7E]+$`:
		return "must be printable ASCII without spaces"
	case `^[A-Za-z0-9_-]{1,64}$`:
		return "must be an id: 1 to 64 letters, digits, '_' or '-'"
	case `^[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F][^\x00-\x1F\x7F]*$`:
		return "must not be blank or contain control characters"
	}
	return "must match the pattern " + pattern
}

func describeType(s *openapi3.Schema) string {
	switch {
	case s.Type.Is("string"):
		return "a string"
	case s.Type.Is("integer"):
		return "an integer"
	case s.Type.Is("number"):
		return "a number"
	case s.Type.Is("boolean"):
		return "true or false"
	case s.Type.Is("object"):
		return "an object"
	case s.Type.Is("array"):
		return "an array"
	}
	return "a valid value"
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func joinEnum(values []any) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ", ")
}

// dedupe keeps the first error for each field: one clear reason per field
// (an empty name breaks both minLength and the pattern, say).
func dedupe(fields []FieldError) []FieldError {
	seen := make(map[string]bool, len(fields))
	out := fields[:0]
	for _, f := range fields {
		if !seen[f.Field] {
			seen[f.Field] = true
			out = append(out, f)
		}
	}
	return out
}
