package client

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/givelive/givelive/client/apiclient"
)

// The REST API's types, as client/apiclient generates them from the
// OpenAPI document.
type (
	Session           = apiclient.SessionCreated
	Nonprofit         = apiclient.Nonprofit
	NonprofitRequest  = apiclient.CreateNonprofitRequest
	Broadcaster       = apiclient.BroadcasterCreated
	Fundraiser        = apiclient.Fundraiser
	FundraiserRequest = apiclient.CreateFundraiserRequest
	FundraiserCreated = apiclient.FundraiserCreated
	FundraiserFilter  = apiclient.ListFundraisersParams
	Ingest            = apiclient.Ingest
	DonationReceipt   = apiclient.DonationReceipt
	DonationPage      = apiclient.DonationPage
	DonationFilter    = apiclient.ListDonationsParams
	FieldError        = apiclient.FieldError
	// Snapshot is a fundraiser's public state as of Position: what
	// GET /api/v1/fundraisers/{id} answers, and the Data of a
	// TypeSnapshot event.
	Snapshot = apiclient.FundraiserSnapshot
)

// DefaultAPIRetries is how often an API call is retried by default.
const DefaultAPIRetries = 3

// APIOptions configures NewAPI. A nil *APIOptions, and every zero field,
// means the default documented on the field.
type APIOptions struct {
	// Token is sent as the bearer token of every call: a viewer,
	// broadcaster or admin token. Empty sends none. See API.WithToken.
	Token string
	// HTTPClient makes the calls. Default http.DefaultClient.
	HTTPClient *http.Client
	// Retries is how many times a call that failed transiently is tried
	// again (default DefaultAPIRetries; negative: never). Every call is
	// retried after 429; calls that are safe to repeat (GET, and a
	// donation, which carries its Idempotency-Key) also after a network
	// error, 502, 503 or 504. Retry-After is honoured up to 10 s.
	Retries int
}

// API is a client for the REST endpoints of the contract, over
// client/apiclient. Failed calls return an *APIError when the server
// answered, and a wrapped transport error otherwise. API is safe for
// concurrent use.
type API struct {
	c     *apiclient.ClientWithResponses
	token string
}

// NewAPI returns an API for the server at baseURL (http://host:8080; its
// WebSocket URL is accepted too).
func NewAPI(baseURL string, opts *APIOptions) (*API, error) {
	var o APIOptions
	if opts != nil {
		o = *opts
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultAPIRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	_, base, err := endpoints(baseURL)
	if err != nil {
		return nil, err
	}
	doer := &retrier{client: o.HTTPClient, retries: o.Retries, backoff: restBackoff}
	c, err := apiclient.NewClientWithResponses(base+"/api/v1", apiclient.WithHTTPClient(doer))
	if err != nil {
		return nil, fmt.Errorf("failed to create API client: %w", err)
	}
	return &API{c: c, token: o.Token}, nil
}

// WithToken returns a copy of a that sends token instead (empty: none).
// It shares a's HTTP client.
func (a *API) WithToken(token string) *API {
	return &API{c: a.c, token: token}
}

// Raw returns the generated client underneath, for endpoints API does not
// wrap (moderation, refunds, reports). Its calls carry no token unless
// given one.
func (a *API) Raw() *apiclient.ClientWithResponses { return a.c }

func (a *API) bearer(_ context.Context, req *http.Request) error {
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	return nil
}

// CreateSession starts a viewer session named name; its Token lets a Conn
// chat and send stickers.
func (a *API) CreateSession(ctx context.Context, name string) (*Session, error) {
	r, err := a.c.CreateSessionWithResponse(ctx, apiclient.CreateSessionRequest{Name: name}, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to create session: %w", err)
	}
	return answer(r, r.JSON201)
}

// CreateNonprofit registers a nonprofit, unverified (admin).
func (a *API) CreateNonprofit(ctx context.Context, req NonprofitRequest) (*Nonprofit, error) {
	r, err := a.c.CreateNonprofitWithResponse(ctx, req, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to create nonprofit: %w", err)
	}
	return answer(r, r.JSON201)
}

// VerifyNonprofit marks a nonprofit verified (admin).
func (a *API) VerifyNonprofit(ctx context.Context, id string) (*Nonprofit, error) {
	r, err := a.c.VerifyNonprofitWithResponse(ctx, id, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to verify nonprofit %s: %w", id, err)
	}
	return answer(r, r.JSON200)
}

// Nonprofits lists the verified nonprofits.
func (a *API) Nonprofits(ctx context.Context) ([]Nonprofit, error) {
	r, err := a.c.ListNonprofitsWithResponse(ctx, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to list nonprofits: %w", err)
	}
	list, err := answer(r, r.JSON200)
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// CreateBroadcaster registers a broadcaster (admin). The answer's Token is
// shown only here.
func (a *API) CreateBroadcaster(ctx context.Context, name string) (*Broadcaster, error) {
	r, err := a.c.CreateBroadcasterWithResponse(ctx, apiclient.CreateBroadcasterRequest{Name: name}, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to create broadcaster: %w", err)
	}
	return answer(r, r.JSON201)
}

// CreateFundraiser creates a fundraiser for a verified nonprofit
// (broadcaster). The answer carries the secret stream key.
func (a *API) CreateFundraiser(ctx context.Context, req FundraiserRequest) (*FundraiserCreated, error) {
	r, err := a.c.CreateFundraiserWithResponse(ctx, req, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to create fundraiser: %w", err)
	}
	return answer(r, r.JSON201)
}

// Fundraisers lists fundraisers, newest first; filter may be nil.
func (a *API) Fundraisers(ctx context.Context, filter *FundraiserFilter) ([]Fundraiser, error) {
	r, err := a.c.ListFundraisersWithResponse(ctx, filter, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to list fundraisers: %w", err)
	}
	list, err := answer(r, r.JSON200)
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// Fundraiser returns the snapshot of fundraiser id: its public state and
// the stream position it reflects.
func (a *API) Fundraiser(ctx context.Context, id string) (*Snapshot, error) {
	r, err := a.c.GetFundraiserWithResponse(ctx, id, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to get fundraiser %s: %w", id, err)
	}
	return answer(r, r.JSON200)
}

// Ingest returns the fundraiser's ingest URL and stream key (owner).
func (a *API) Ingest(ctx context.Context, id string) (*Ingest, error) {
	r, err := a.c.GetFundraiserIngestWithResponse(ctx, id, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to get ingest of %s: %w", id, err)
	}
	return answer(r, r.JSON200)
}

// EndFundraiser ends a fundraiser (owner or admin); ending twice is fine.
func (a *API) EndFundraiser(ctx context.Context, id string) (*Fundraiser, error) {
	r, err := a.c.EndFundraiserWithResponse(ctx, id, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to end fundraiser %s: %w", id, err)
	}
	return answer(r, r.JSON200)
}

// DonationRequest is a donation to make with Donate.
type DonationRequest struct {
	Amount    int64  // minor units
	Currency  string // the fundraiser's ISO 4217 currency
	Name      string // shown to viewers; empty: Anonymous
	Message   string
	Anonymous bool // show Anonymous instead of Name
	// IdempotencyKey makes the donation safe to repeat: the server counts
	// one donation per key and fundraiser. Empty: Donate makes one with
	// NewIdempotencyKey. Set it yourself to retry beyond Donate's own
	// retries (after a timeout, say) without giving twice.
	IdempotencyKey string
}

// Donate gives to fundraiser id. A token set on a links the gift to the
// viewer. Transient failures are retried with the same Idempotency-Key,
// so a retry never counts twice.
func (a *API) Donate(ctx context.Context, id string, d DonationRequest) (*DonationReceipt, error) {
	key := d.IdempotencyKey
	if key == "" {
		key = NewIdempotencyKey()
	}
	body := apiclient.CreateDonationRequest{Amount: d.Amount, Currency: apiclient.Currency(d.Currency)}
	if d.Name != "" {
		body.Name = &d.Name
	}
	if d.Message != "" {
		body.Message = &d.Message
	}
	if d.Anonymous {
		body.Anonymous = &d.Anonymous
	}
	r, err := a.c.CreateDonationWithResponse(ctx, id, &apiclient.CreateDonationParams{IdempotencyKey: key}, body, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to donate to %s: %w", id, err)
	}
	if r.JSON200 != nil { // a replay of a donation made before
		return answer(r, r.JSON200)
	}
	return answer(r, r.JSON201)
}

// Donations lists a fundraiser's donations, newest first, a page at a time
// (owner or admin); filter may be nil.
func (a *API) Donations(ctx context.Context, id string, filter *DonationFilter) (*DonationPage, error) {
	r, err := a.c.ListDonationsWithResponse(ctx, id, filter, a.bearer)
	if err != nil {
		return nil, fmt.Errorf("failed to list donations of %s: %w", id, err)
	}
	return answer(r, r.JSON200)
}

// NewIdempotencyKey returns a fresh random Idempotency-Key.
func NewIdempotencyKey() string { return "gl-" + rand.Text() }

// APIError is a call the server refused, from its problem+json answer
// (RFC 9457), or a WebSocket handshake it refused.
type APIError struct {
	Status    int    // the HTTP status
	Type      string // names the kind of problem; "about:blank" when the status says it all
	Title     string
	Detail    string
	Errors    []FieldError // one per invalid field (400 and 422)
	RequestID string       // the server's X-Request-Id, for its logs
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("givelive api: %d %s", e.Status, e.Title)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// response is what every generated response has.
type response interface {
	StatusCode() int
	ContentType() string
	GetBody() []byte
}

// answer returns ok when r is a success, else r as an *APIError.
func answer[T any](r response, ok *T) (*T, error) {
	if ok != nil && r.StatusCode() >= 200 && r.StatusCode() < 300 {
		return ok, nil
	}
	return nil, newAPIError(r.StatusCode(), r.ContentType(), r.GetBody())
}

// newAPIError reads a problem+json body; any other body becomes the
// detail, shortened.
func newAPIError(status int, contentType string, body []byte) *APIError {
	e := &APIError{Status: status, Title: http.StatusText(status)}
	mt, _, _ := mime.ParseMediaType(contentType)
	var p apiclient.Problem
	if strings.HasSuffix(mt, "json") && json.Unmarshal(body, &p) == nil && p.Title != "" {
		e.Type, e.Title = p.Type, p.Title
		if p.Detail != nil {
			e.Detail = *p.Detail
		}
		if p.Errors != nil {
			e.Errors = *p.Errors
		}
		if p.RequestId != nil {
			e.RequestID = *p.RequestId
		}
		return e
	}
	e.Detail = shorten(strings.TrimSpace(string(body)), 200)
	return e
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
