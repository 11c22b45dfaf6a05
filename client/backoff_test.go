package client

import (
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/givelive/givelive/hub/wire"
)

func TestBackoffStaysWithinItsCeiling(t *testing.T) {
	b := DefaultBackoff()
	for attempt, ceil := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 20 * time.Second, 20 * time.Second} {
		var most time.Duration
		for range 2000 {
			d := b.Delay(attempt, false)
			if d < 0 || d > ceil {
				t.Fatalf("attempt %d: %v outside [0, %v]", attempt, d, ceil)
			}
			most = max(most, d)
		}
		if most < ceil/2 {
			t.Errorf("attempt %d: longest of 2000 waits %v, not jittered up to %v", attempt, most, ceil)
		}
	}
	if d := b.Delay(1000, false); d > b.Max {
		t.Fatalf("huge attempt: %v", d)
	}
	for range 1000 {
		if d := b.Delay(0, true); d < b.Max/2 || d > b.Max {
			t.Fatalf("slow wait %v outside [%v, %v]", d, b.Max/2, b.Max)
		}
	}
}

func TestReconnectsByCloseCode(t *testing.T) {
	for _, tc := range []struct {
		code        int // 0: no close frame
		again, slow bool
	}{
		{0, true, false},
		{wire.CloseGoingAway, true, false},
		{wire.CloseSlowConsumer, true, false},
		{wire.CloseTooMany, true, true},
		{1011, true, false},
		{wire.CloseNormal, false, false},
		{wire.ClosePolicy, false, false},
		{wire.CloseTooBig, false, false},
		{wire.CloseBadToken, false, false},
	} {
		err := errors.New("read: connection reset by peer")
		if tc.code != 0 {
			err = websocket.CloseError{Code: websocket.StatusCode(tc.code), Reason: "r"}
		}
		again, slow := reconnects(err)
		if again != tc.again || slow != tc.slow {
			t.Errorf("code %d: again %v slow %v, want %v %v", tc.code, again, slow, tc.again, tc.slow)
		}
		if !again {
			if ce, ok := terminal(err).(*CloseError); !ok || ce.Code != tc.code {
				t.Errorf("code %d: terminal error %v", tc.code, terminal(err))
			}
		}
	}
}
