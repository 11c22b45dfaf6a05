package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/givelive/givelive/internal/store"
)

// Streams is each fundraiser's stream status, as the media server (or
// mediamtx, through the hook) reports it. internal/streams implements it.
type Streams interface {
	// IsLive reports whether the fundraiser's stream is live, on this
	// node or on another (which may need a lookup in Redis).
	IsLive(ctx context.Context, fundraiserID string) bool
	// Live and Offline record a stream going live or offline and tell
	// the room. Live fails with store.ErrConflict for an ended fundraiser.
	Live(ctx context.Context, fundraiserID string) error
	Offline(ctx context.Context, fundraiserID string) error
	// Ended stops the fundraiser's stream after the fundraiser ended.
	Ended(ctx context.Context, fundraiserID string) error
	// Disconnect ends the fundraiser's current publish, if any (its key
	// was replaced); the stream goes offline.
	Disconnect(fundraiserID string) bool
}

// mediamtxPathPrefix is the mediamtx path a stream key is published under:
// live/{stream_key}, as with the embedded server's RTMP URL.
const mediamtxPathPrefix = "live/"

// mediamtxAuthenticate checks the shared secret mediamtx sends: the
// password of HTTP Basic (mediamtx takes it from the userinfo of
// authHTTPAddress) or a bearer token (for hook commands). Without a
// configured secret the endpoints do not exist.
func (s *Server) mediamtxAuthenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.MediaMTXSecret == "" {
			return &problem{status: http.StatusNotFound, detail: "The mediamtx integration is off on this server (GIVELIVE_MEDIAMTX_SECRET is not set)."}
		}
		r := c.Request()
		got, ok := "", false
		if _, pass, basic := r.BasicAuth(); basic {
			got, ok = pass, true
		} else if token, found := strings.CutPrefix(r.Header.Get(echo.HeaderAuthorization), "Bearer "); found {
			got, ok = token, true
		}
		if !ok || !secretEqual(got, s.cfg.MediaMTXSecret) {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="givelive-mediamtx"`)
			return &problem{status: http.StatusUnauthorized,
				detail: "The mediamtx secret is missing or wrong: put GIVELIVE_MEDIAMTX_SECRET as the password in authHTTPAddress."}
		}
		return next(c)
	}
}

// secretEqual compares in constant time, also in length.
func secretEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// MediamtxAuth answers mediamtx's authentication callback: publishing
// needs a stream key that can go live, reading is open, anything else is
// refused.
func (h *handlers) MediamtxAuth(ctx context.Context, req MediamtxAuthRequestObject) (MediamtxAuthResponseObject, error) {
	switch req.Body.Action {
	case "read", "playback":
		return MediamtxAuth204Response{}, nil
	case "publish":
		f, err := h.fundraiserByPath(ctx, req.Body.Path)
		if err != nil {
			var p *problem
			if errors.As(err, &p) && p.status == http.StatusNotFound {
				p.status = http.StatusForbidden
			}
			return nil, err
		}
		if f.Status == store.StatusEnded {
			return nil, &problem{status: http.StatusForbidden, detail: "This fundraiser has ended; it cannot go live again."}
		}
		return MediamtxAuth204Response{}, nil
	default:
		return nil, &problem{status: http.StatusForbidden,
			detail: fmt.Sprintf("GiveLive does not authorize mediamtx's %q action; list it in authHTTPExclude.", req.Body.Action)}
	}
}

// MediamtxHook records a stream becoming ready or not ready in mediamtx.
func (h *handlers) MediamtxHook(ctx context.Context, req MediamtxHookRequestObject) (MediamtxHookResponseObject, error) {
	if h.streams == nil {
		return nil, errors.New("mediamtx hook called without a stream tracker")
	}
	f, err := h.fundraiserByPath(ctx, req.Body.Path)
	if err != nil {
		return nil, err
	}
	switch req.Body.Event {
	case MediaMTXHookEventReady:
		err = h.streams.Live(ctx, f.ID)
	case MediaMTXHookEventNotReady:
		err = h.streams.Offline(ctx, f.ID)
	}
	if errors.Is(err, store.ErrConflict) {
		return nil, &problem{status: http.StatusConflict, detail: "This fundraiser has ended; its stream cannot go live.", cause: err}
	}
	if err != nil {
		return nil, err
	}
	return MediamtxHook204Response{}, nil
}

// fundraiserByPath finds the fundraiser a mediamtx path (live/{key})
// publishes. Unknown paths are 404, and the key is never echoed.
func (h *handlers) fundraiserByPath(ctx context.Context, path string) (store.Fundraiser, error) {
	key, ok := strings.CutPrefix(strings.Trim(path, "/"), mediamtxPathPrefix)
	if !ok || key == "" || strings.Contains(key, "/") {
		return store.Fundraiser{}, &problem{status: http.StatusNotFound, detail: "Publish to the path live/{stream_key}."}
	}
	f, err := h.store.FundraiserByStreamKey(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return store.Fundraiser{}, &problem{status: http.StatusNotFound, detail: "No fundraiser has this stream key."}
	}
	return f, err
}
