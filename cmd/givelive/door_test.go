package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

// With GIVELIVE_PUBLIC_URL set, the binary answers only for its public
// host: the web app, the API, HLS and /ws refuse another Host with 421
// (found: the Host header shaped the ingest URL and the page's policy, and
// DNS rebinding reached /ws); health checks answer any host.
func TestPublicURLRefusesOtherHosts(t *testing.T) {
	addr := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	public := "localhost:" + port
	s := startDemoIn(t, buildBinary(t), t.TempDir(), addr, "GIVELIVE_PUBLIC_URL=http://"+public)
	get := func(host, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", s.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for _, path := range []string{"/", "/f/" + s.fundraiser, "/api/v1/fundraisers/" + s.fundraiser, "/hls/" + s.fundraiser + "/index.m3u8"} {
		if res := get("rebound.example:"+port, path); res.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("%s for another host: %d, want 421", path, res.StatusCode)
		}
	}
	if res := get(public, "/api/v1/fundraisers/"+s.fundraiser); res.StatusCode != 200 {
		t.Errorf("the public host: %d", res.StatusCode)
	}
	if res := get("10.1.2.3:"+port, "/healthz"); res.StatusCode != 200 {
		t.Errorf("health check for another host: %d", res.StatusCode)
	}
	_, res, err := websocket.Dial(context.Background(), "ws://"+addr+"/ws", &websocket.DialOptions{
		Subprotocols: []string{wire.Subprotocol},
		Host:         "rebound.example:" + port,
		HTTPHeader:   http.Header{"Origin": {"http://rebound.example:" + port}},
	})
	if err == nil || res == nil || res.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("a rebound WebSocket: %v (%v), want 421", err, res)
	}
	ws, _, err := websocket.Dial(context.Background(), "ws://"+addr+"/ws", &websocket.DialOptions{
		Subprotocols: []string{wire.Subprotocol},
		Host:         public,
	})
	if err != nil {
		t.Fatalf("a WebSocket to the public host: %v", err)
	}
	ws.CloseNow()
}
