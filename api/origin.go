package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// origin knows the server's public scheme and host, from Config.PublicURL or
// from each request, and builds the URLs the API hands out.
type origin struct {
	publicBase string // scheme://host[:port] of PublicURL, or ""
	publicHost string // PublicURL's host name, without port or brackets
	rtmpPort   string // "" for the default port 1935
	trustProxy bool
}

// requestBase is one request's public scheme and host, as the client
// reached the server.
type requestBase struct {
	scheme, host string
}

type requestBaseKey struct{}

func newOrigin(publicURL, rtmpAddr string, trustProxy bool) (origin, error) {
	o := origin{trustProxy: trustProxy}
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return origin{}, fmt.Errorf("PublicURL %q: want an absolute http or https URL", publicURL)
		}
		o.publicBase = u.Scheme + "://" + u.Host
		o.publicHost = u.Hostname()
	}
	if rtmpAddr != "" {
		_, port, err := net.SplitHostPort(rtmpAddr)
		if err != nil {
			return origin{}, fmt.Errorf("RTMPAddr %q: %w", rtmpAddr, err)
		}
		if port != defaultRTMPPort {
			o.rtmpPort = port
		}
	}
	return o, nil
}

// withOrigin stores the request's public scheme and host in its context for
// the handlers, which see only a context.
func (s *Server) withOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		b := s.origin.base(r)
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), requestBaseKey{}, b)))
		return next(c)
	}
}

// base returns r's public scheme and host: PublicURL's if set, else the
// request's, believing X-Forwarded-Proto and X-Forwarded-Host only behind a
// trusted proxy.
func (o origin) base(r *http.Request) requestBase {
	if o.publicBase != "" {
		scheme, host, _ := strings.Cut(o.publicBase, "://")
		return requestBase{scheme: scheme, host: host}
	}
	b := requestBase{scheme: "http", host: r.Host}
	if r.TLS != nil {
		b.scheme = "https"
	}
	if !o.trustProxy {
		return b
	}
	if p := firstValue(r.Header.Get(echo.HeaderXForwardedProto)); p == "http" || p == "https" {
		b.scheme = p
	}
	if h := firstValue(r.Header.Get("X-Forwarded-Host")); validHost(h) {
		b.host = h
	}
	return b
}

// ingestURL is where the broadcaster publishes: rtmp://host[:port]/live,
// the host being PublicURL's or the request's without its port, the port
// RTMPAddr's unless it is 1935.
func (o origin) ingestURL(ctx context.Context) string {
	host := o.publicHost
	if host == "" {
		b, _ := ctx.Value(requestBaseKey{}).(requestBase)
		host = hostOnly(b.host)
	}
	if host == "" {
		host = "localhost"
	}
	if o.rtmpPort != "" {
		return "rtmp://" + net.JoinHostPort(host, o.rtmpPort) + "/live"
	}
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	return "rtmp://" + host + "/live"
}

// whipURL is where the broadcaster publishes over WHIP: the public scheme
// and host (the HTTP port's) with path.
func (o origin) whipURL(ctx context.Context, path string) string {
	if o.publicBase != "" {
		return o.publicBase + path
	}
	b, _ := ctx.Value(requestBaseKey{}).(requestBase)
	if b.host == "" {
		return "http://localhost" + path
	}
	return b.scheme + "://" + b.host + path
}

// hostOnly strips the port and IPv6 brackets from a Host header value.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// firstValue returns the first of a comma-separated header's values.
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.ToLower(strings.TrimSpace(first))
}

// validHost accepts the characters a host[:port] may hold, so a forwarded
// header cannot smuggle a path or a scheme into the URLs we build.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, r := range h {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '-' || r == ':' || r == '[' || r == ']'
		if !ok {
			return false
		}
	}
	return true
}
