package loadtest

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{AdminToken: "a"}
	cases := []struct {
		name string
		cfg  func(c *Config)
		err  string // substring; "" means valid
	}{
		{"defaults with a token", func(c *Config) {}, ""},
		{"localhost", func(c *Config) { c.Target = "http://localhost:9000" }, ""},
		{"ipv6 loopback", func(c *Config) { c.Target = "http://[::1]:9000" }, ""},
		{"other 127 address", func(c *Config) { c.Target = "http://127.1.2.3:9000/" }, ""},
		{"remote refused", func(c *Config) { c.Target = "http://198.51.100.7:8080" }, ErrRemoteTarget.Error()},
		{"remote name refused", func(c *Config) { c.Target = "https://givelive.example" }, ErrRemoteTarget.Error()},
		{"remote viewer target refused", func(c *Config) { c.ViewerTarget = "http://198.51.100.8:8080" }, ErrRemoteTarget.Error()},
		{"bad viewer target", func(c *Config) { c.ViewerTarget = "ftp://127.0.0.1" }, "must be an http"},
		{"remote allowed", func(c *Config) { c.Target = "https://givelive.example"; c.AllowRemote = true }, ""},
		{"not http", func(c *Config) { c.Target = "ws://127.0.0.1:8080" }, "http://"},
		{"query", func(c *Config) { c.Target = "http://127.0.0.1:8080/?x=1" }, "without query"},
		{"no token, no fundraiser", func(c *Config) { c.AdminToken = "" }, "admin token"},
		{"fundraiser without token", func(c *Config) { c.AdminToken = ""; c.Fundraiser = "f_1" }, ""},
		{"fundraiser with rooms", func(c *Config) { c.Fundraiser = "f_1"; c.Rooms = 3 }, "rooms must be 1"},
		{"bad fundraiser id", func(c *Config) { c.Fundraiser = "f 1" }, "not a valid id"},
		{"source IPs", func(c *Config) { c.SourceIPs = 4 }, ""},
		{"source IPs on localhost", func(c *Config) { c.Target = "http://localhost:8080"; c.SourceIPs = 4 }, "IPv4 loopback"},
		{"too many source IPs", func(c *Config) { c.SourceIPs = 254 }, "from 0 to 253"},
		{"negative viewers", func(c *Config) { c.Viewers = -1 }, "viewers"},
		{"short duration", func(c *Config) { c.Duration = 500 * time.Millisecond }, "at least 1s"},
		{"negative chat rate", func(c *Config) { c.ChatRate = -1 }, "chat rate"},
		{"negative p99", func(c *Config) { c.MaxP99 = -time.Second }, "max p99"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.cfg(&c)
			err := c.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.err)
			}
			if strings.Contains(tc.name, "remote") && !errors.Is(err, ErrRemoteTarget) {
				t.Fatalf("Validate: %v is not ErrRemoteTarget", err)
			}
		})
	}
}

func TestConfigDefaultsAndChatters(t *testing.T) {
	c := Config{}.withDefaults()
	if c.Target != DefaultTarget || c.Viewers != DefaultViewers || c.Warmup != DefaultWarmup || c.Out == nil {
		t.Fatalf("defaults: %+v", c)
	}
	if w := (Config{Duration: 3 * time.Second}).withDefaults().Warmup; w != time.Second {
		t.Fatalf("warm-up for a 3s run is %v, want a third of it", w)
	}
	for _, tc := range []struct {
		rate  float64
		rooms int
		want  int
	}{{5, 1, 6}, {5, 2, 4}, {0.5, 1, 2}, {1, 1, 2}, {100, 10, 11}} {
		c := Config{ChatRate: tc.rate, Rooms: tc.rooms}
		if got := c.chattersPerRoom(); got != tc.want {
			t.Errorf("chatters per room for %v/s over %d rooms: %d, want %d", tc.rate, tc.rooms, got, tc.want)
		}
	}
}
