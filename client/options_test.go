package client

import "testing"

func TestEndpoints(t *testing.T) {
	for _, tc := range []struct {
		in, ws, base, err string
	}{
		{in: "http://localhost:8080", ws: "ws://localhost:8080/ws", base: "http://localhost:8080"},
		{in: "http://localhost:8080/", ws: "ws://localhost:8080/ws", base: "http://localhost:8080"},
		{in: "https://live.example.org", ws: "wss://live.example.org/ws", base: "https://live.example.org"},
		{in: "ws://127.0.0.1:8080/ws", ws: "ws://127.0.0.1:8080/ws", base: "http://127.0.0.1:8080"},
		{in: "wss://example.org/givelive/ws?x=1", ws: "wss://example.org/givelive/ws", base: "https://example.org/givelive"},
		{in: "ftp://example.org", err: "scheme"},
		{in: "http://", err: "no host"},
		{in: "://", err: "parse"},
	} {
		ws, base, err := endpoints(tc.in)
		switch {
		case tc.err != "":
			if err == nil {
				t.Errorf("%q: no error, want one about %s", tc.in, tc.err)
			}
		case err != nil || ws != tc.ws || base != tc.base:
			t.Errorf("%q: %q %q %v, want %q %q", tc.in, ws, base, err, tc.ws, tc.base)
		}
	}
}
