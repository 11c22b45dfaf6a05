package hub

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestUserLimitsRefill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newUserLimits(Config{ChatRate: 1, ChatBurst: 3, StickerRate: 2, StickerBurst: 1})
		for i := range 3 {
			if !l.allowChat("u1") {
				t.Fatalf("message %d of the burst refused", i)
			}
		}
		if l.allowChat("u1") {
			t.Fatal("fourth message in the same instant allowed")
		}
		if !l.allowChat("u2") {
			t.Fatal("another user shares u1's bucket")
		}
		time.Sleep(999 * time.Millisecond)
		if l.allowChat("u1") {
			t.Fatal("allowed before a full second refilled a token")
		}
		time.Sleep(time.Millisecond)
		if !l.allowChat("u1") {
			t.Fatal("refused after a second")
		}
		if !l.allowSticker("u1") || l.allowSticker("u1") {
			t.Fatal("sticker bucket wrong")
		}
		time.Sleep(500 * time.Millisecond)
		if !l.allowSticker("u1") {
			t.Fatal("sticker refused after its interval")
		}
	})
}

func TestUserLimitsForgetIdleUsers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newUserLimits(Config{ChatRate: 1, ChatBurst: 1, StickerRate: 1, StickerBurst: 1})
		l.allowChat("u1")
		time.Sleep(2 * time.Minute)
		l.allowChat("u2")
		l.sweep(time.Now())
		if _, ok := l.users["u1"]; ok {
			t.Fatal("idle user kept")
		}
		if _, ok := l.users["u2"]; !ok {
			t.Fatal("active user forgotten")
		}
	})
}

func TestUserLimitsKeepSlowBucketsUntilRefilled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One message per 10 minutes, bursts of 2: a user forgotten after a
		// minute would get a fresh burst early.
		l := newUserLimits(Config{ChatRate: 1.0 / 600, ChatBurst: 2, StickerRate: 1, StickerBurst: 1})
		l.allowChat("u1")
		l.allowChat("u1")
		time.Sleep(5 * time.Minute)
		l.sweep(time.Now())
		if l.allowChat("u1") {
			t.Fatal("sweeping handed out a fresh burst before the bucket refilled")
		}
	})
}

func TestRateMessages(t *testing.T) {
	cases := []struct {
		r    float64
		want string
	}{
		{1, "1 chat message per second"},
		{3, "3 chat messages per second"},
		{0.2, "1 chat message every 5.0 seconds"},
	}
	for _, tc := range cases {
		if got := perSecond(rateLimit(tc.r), "chat message"); got != tc.want {
			t.Errorf("perSecond(%v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestCommandBucket(t *testing.T) {
	var b bucket
	b.fill(3)
	start := time.Unix(1000, 0)
	for i := range 3 {
		if !b.take(start, 2, 3) {
			t.Fatalf("command %d of the burst refused", i)
		}
	}
	if b.take(start, 2, 3) {
		t.Fatal("a fourth command in the same instant allowed")
	}
	if b.take(start.Add(499*time.Millisecond), 2, 3) {
		t.Fatal("allowed before half a second refilled a token at 2/s")
	}
	if !b.take(start.Add(time.Second), 2, 3) {
		t.Fatal("refused after a token refilled")
	}
	later := start.Add(time.Hour)
	for i := range 3 {
		if !b.take(later, 2, 3) {
			t.Fatalf("after a long pause, command %d of the burst refused", i)
		}
	}
	if b.take(later, 2, 3) {
		t.Fatal("a long pause refilled more than the burst")
	}
}
