package api

import (
	"errors"
	"fmt"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/store"
)

// schemeKinds maps the spec's security schemes to token kinds.
func schemeKind(name string) (auth.Kind, bool) {
	switch name {
	case "adminToken":
		return auth.Admin, true
	case "broadcasterToken":
		return auth.Broadcaster, true
	case "viewerToken":
		return auth.Viewer, true
	}
	return auth.Anonymous, false
}

// operationMiddleware builds each operation's chain from the spec, in this
// order: authentication (401, or 403 for the wrong kind of token), request
// validation (400), then ownership (404 or 403) where the operation is
// about one broadcaster's fundraiser. Authentication comes first so that
// anonymous callers learn nothing from validation messages.
func (s *Server) operationMiddleware() (map[string][]echo.MiddlewareFunc, error) {
	owners := map[string]echo.MiddlewareFunc{
		"getFundraiserIngest":   auth.RequireOwner(s.fundraiserOwner, false),
		"getStreamHealth":       auth.RequireOwner(s.fundraiserOwner, false),
		"rotateStreamKey":       auth.RequireOwner(s.fundraiserOwner, false),
		"endFundraiser":         auth.RequireOwner(s.fundraiserOwner, true),
		"listDonations":         auth.RequireOwner(s.fundraiserOwner, true),
		"hideDonationMessage":   auth.RequireOwner(s.fundraiserOwner, true),
		"unhideDonationMessage": auth.RequireOwner(s.fundraiserOwner, true),
		"createShoutout":        auth.RequireOwner(s.fundraiserOwner, false),
		"raiseGoal":             auth.RequireOwner(s.fundraiserOwner, true),
		"deleteChatMessage":     auth.RequireOwner(s.fundraiserOwner, true),
		"banUser":               auth.RequireOwner(s.fundraiserOwner, true),
		"unbanUser":             auth.RequireOwner(s.fundraiserOwner, true),
		"setSlowMode":           auth.RequireOwner(s.fundraiserOwner, true),
		"listBans":              auth.RequireOwner(s.fundraiserOwner, true),
		"timeoutUser":           auth.RequireOwner(s.fundraiserOwner, true),
		"sendTestAlert":         auth.RequireOwner(s.fundraiserOwner, true),
		"setChatModes":          auth.RequireOwner(s.fundraiserOwner, true),
		"setThanks":             auth.RequireOwner(s.fundraiserOwner, true),
		"getFundraiserReport":   auth.RequireOwner(s.fundraiserOwner, true),
	}
	v := newValidator()
	out := make(map[string][]echo.MiddlewareFunc)
	for _, path := range sortedPaths(s.doc) {
		item := s.doc.Paths.Value(path)
		for method, op := range item.Operations() {
			authn, err := s.authMiddleware(op)
			if err != nil {
				return nil, fmt.Errorf("failed to configure operation %s: %w", op.OperationID, err)
			}
			var mws []echo.MiddlewareFunc
			if authn != nil {
				mws = append(mws, authn)
			}
			route := &routers.Route{Spec: s.doc, Path: path, PathItem: item, Method: method, Operation: op}
			mws = append(mws, v.middleware(route))
			if owner, ok := owners[op.OperationID]; ok {
				mws = append(mws, owner)
				delete(owners, op.OperationID)
			}
			if op.OperationID == "createSession" {
				mws = append(mws, s.deviceCookies)
			}
			out[op.OperationID] = mws
		}
	}
	if len(owners) > 0 {
		return nil, errors.New("failed to configure api: owner checks for operations missing from the spec")
	}
	return out, nil
}

// authMiddleware reads an operation's security requirements: none means
// public; alternatives of one scheme each mean "any of these kinds"; an
// empty alternative makes the token optional.
func (s *Server) authMiddleware(op *openapi3.Operation) (echo.MiddlewareFunc, error) {
	reqs := s.doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	if len(reqs) == 0 {
		return nil, nil
	}
	var kinds []auth.Kind
	optional := false
	for _, req := range reqs {
		if len(req) == 0 {
			optional = true
			continue
		}
		if len(req) > 1 {
			return nil, errors.New("a requirement combining several schemes is not supported")
		}
		for name := range req {
			if name == "mediamtxSecret" {
				if len(reqs) > 1 {
					return nil, errors.New("mediamtxSecret cannot be combined with other schemes")
				}
				return s.mediamtxAuthenticate, nil
			}
			k, ok := schemeKind(name)
			if !ok {
				return nil, fmt.Errorf("unknown security scheme %q", name)
			}
			kinds = append(kinds, k)
		}
	}
	if optional {
		return s.cfg.Auth.Optional(), nil
	}
	return s.cfg.Auth.Require(kinds...), nil
}

// fundraiserOwner returns the broadcaster owning the fundraiser in the path.
func (s *Server) fundraiserOwner(c echo.Context) (string, error) {
	f, err := s.cfg.Store.GetFundraiser(c.Request().Context(), c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return "", notFound("fundraiser")
	}
	if err != nil {
		return "", fmt.Errorf("failed to read fundraiser: %w", err)
	}
	return f.BroadcasterID, nil
}

func sortedPaths(doc *openapi3.T) []string {
	paths := make([]string, 0, doc.Paths.Len())
	for p := range doc.Paths.Map() {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}
