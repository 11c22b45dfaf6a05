package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// restClient is the little of the REST API a load test needs (PROTOCOL.md
// section 6): sessions, and the admin and broadcaster calls that create
// fundraisers. Safe for concurrent use.
type restClient struct {
	base string // e.g. http://127.0.0.1:8080
	http *http.Client
}

func newRESTClient(target *url.URL) *restClient {
	return &restClient{
		base: target.String(),
		http: &http.Client{Timeout: 15 * time.Second, Transport: newTransport(nil)},
	}
}

// maxRetries bounds the retries of a call answered 429 or 503.
const maxRetries = 8

// do sends a JSON request (in may be nil) with an optional bearer token and
// decodes a 2xx JSON answer into out (may be nil). 429 and 503 are retried
// after Retry-After (default one second).
func (c *restClient) do(ctx context.Context, method, path, token string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("failed to encode %s %s: %w", method, path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		retry, err := c.once(ctx, method, path, token, body, out)
		if retry <= 0 || attempt >= maxRetries {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		case <-time.After(retry):
		}
	}
}

// once makes one attempt; retry > 0 asks for another after that long.
func (c *restClient) once(ctx context.Context, method, path, token string, body []byte, out any) (retry time.Duration, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, fmt.Errorf("failed to build %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("failed to call %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("failed to read the answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		retry = time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			retry = time.Duration(min(s, 30)) * time.Second
		}
		return retry, fmt.Errorf("%s %s: %s", method, path, problemText(resp.Status, raw))
	}
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("%s %s: %s", method, path, problemText(resp.Status, raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, fmt.Errorf("failed to decode the answer to %s %s: %w", method, path, err)
		}
	}
	return 0, nil
}

// problemText renders an RFC 9457 problem (or whatever the body is) for an
// error message.
func problemText(status string, body []byte) string {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) == nil && (p.Title != "" || p.Detail != "") {
		if p.Detail == "" {
			return status + ": " + p.Title
		}
		return status + ": " + p.Detail
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return status + ": " + string(bytes.TrimSpace(body))
}

// createRooms creates a verified nonprofit, a broadcaster and n fundraisers,
// and returns the fundraiser ids (the rooms). run names them.
func (c *restClient) createRooms(ctx context.Context, adminToken, run string, n int) ([]string, error) {
	var np struct {
		ID string `json:"id"`
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/nonprofits", adminToken, map[string]string{
		"name": "Load test " + run, "registration_id": "LT-" + run, "country": "US",
	}, &np)
	if err != nil {
		return nil, err
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/nonprofits/"+url.PathEscape(np.ID)+"/verify", adminToken, nil, nil); err != nil {
		return nil, err
	}
	var bc struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/broadcasters", adminToken, map[string]string{"name": "Load test " + run}, &bc); err != nil {
		return nil, err
	}
	type money struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	rooms := make([]string, n)
	for i := range rooms {
		var f struct {
			ID string `json:"id"`
		}
		err := c.do(ctx, http.MethodPost, "/api/v1/fundraisers", bc.Token, map[string]any{
			"title":        fmt.Sprintf("Load test %s room %d", run, i+1),
			"nonprofit_id": np.ID,
			"goal":         money{Amount: 100_000_00, Currency: "USD"},
		}, &f)
		if err != nil {
			return nil, err
		}
		rooms[i] = f.ID
	}
	return rooms, nil
}

// checkFundraiser fails unless the fundraiser exists.
func (c *restClient) checkFundraiser(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodGet, "/api/v1/fundraisers/"+url.PathEscape(id), "", nil, nil)
}

// createSession returns a viewer token for a new identity called name.
func (c *restClient) createSession(ctx context.Context, name string) (string, error) {
	var s struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/sessions", "", map[string]string{"name": name}, &s); err != nil {
		return "", err
	}
	return s.Token, nil
}

// metrics returns the target's /metrics text.
func (c *restClient) metrics(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to scrape /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to scrape /metrics: %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}

func (c *restClient) close() { c.http.CloseIdleConnections() }
