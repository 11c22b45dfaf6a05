package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// restBackoff spaces REST retries.
var restBackoff = Backoff{Min: 200 * time.Millisecond, Max: 2 * time.Second}

// maxRetryAfter is the longest Retry-After a call waits out; a longer one
// is returned to the caller as it is.
const maxRetryAfter = 10 * time.Second

// retrier is the HTTP doer under the generated client: it retries
// transient failures of requests that are safe to repeat. A request is
// repeated with the same body and headers, so a donation keeps its
// Idempotency-Key.
type retrier struct {
	client  *http.Client
	retries int
	backoff Backoff
}

func (r *retrier) Do(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := r.client.Do(req)
		wait, again := r.retry(req, resp, err, attempt)
		if !again {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := sleepContext(req.Context(), wait); err != nil {
			return nil, err
		}
		if req, err = rewind(req); err != nil {
			return nil, err
		}
	}
}

// retry decides whether the outcome of attempt calls for another, and
// after how long.
func (r *retrier) retry(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if attempt >= r.retries || req.Context().Err() != nil || (req.Body != nil && req.GetBody == nil) {
		return 0, false
	}
	wait := r.backoff.Delay(attempt, false)
	if err != nil {
		return wait, repeatable(req)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		// Refused before anything ran: any request may be repeated.
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if !repeatable(req) {
			return 0, false
		}
	default:
		return 0, false
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		secs, perr := strconv.Atoi(s)
		if perr != nil || secs < 0 || time.Duration(secs)*time.Second > maxRetryAfter {
			return 0, false
		}
		wait = time.Duration(secs) * time.Second
	}
	return wait, true
}

// repeatable reports whether running req twice has the effect of running
// it once.
func repeatable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}

// rewind returns a copy of req with a fresh body.
func rewind(req *http.Request) (*http.Request, error) {
	again := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("failed to rewind request body: %w", err)
		}
		again.Body = body
	}
	return again, nil
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
