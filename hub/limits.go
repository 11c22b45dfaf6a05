package hub

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// userLimits holds the per-user token buckets for chat and stickers. They
// are per user, not per connection, so opening more tabs buys no more
// messages. Buckets unused for a while are forgotten by sweep.
type userLimits struct {
	chatRate, stickerRate   rate.Limit
	chatBurst, stickerBurst int
	chatMessage             string
	stickerMessage          string
	// idle is how long a user goes unseen before being forgotten: long
	// enough for both buckets to refill, so forgetting grants nothing.
	idle time.Duration

	mu    sync.Mutex
	users map[string]*userLimit
}

type userLimit struct {
	chat, sticker *rate.Limiter
	used          time.Time
}

func newUserLimits(cfg Config) *userLimits {
	return &userLimits{
		chatRate: cfg.ChatRate, chatBurst: cfg.ChatBurst,
		stickerRate: cfg.StickerRate, stickerBurst: cfg.StickerBurst,
		chatMessage:    "at most " + perSecond(cfg.ChatRate, "chat message"),
		stickerMessage: "at most " + perSecond(cfg.StickerRate, "sticker"),
		users:          make(map[string]*userLimit),
		idle: max(time.Minute,
			refill(cfg.ChatRate, cfg.ChatBurst), refill(cfg.StickerRate, cfg.StickerBurst)),
	}
}

// refill is how long an empty bucket takes to fill up again.
func refill(r rate.Limit, burst int) time.Duration {
	if r <= 0 {
		return 0
	}
	return time.Duration(float64(burst) / float64(r) * float64(time.Second))
}

func perSecond(r rate.Limit, what string) string {
	if r >= 1 && float64(r) == float64(int(r)) {
		if r == 1 {
			return fmt.Sprintf("1 %s per second", what)
		}
		return fmt.Sprintf("%d %ss per second", int(r), what)
	}
	return fmt.Sprintf("1 %s every %.1f seconds", what, 1/float64(r))
}

func (l *userLimits) get(user string, now time.Time) *userLimit {
	u := l.users[user]
	if u == nil {
		u = &userLimit{
			chat:    rate.NewLimiter(l.chatRate, l.chatBurst),
			sticker: rate.NewLimiter(l.stickerRate, l.stickerBurst),
		}
		l.users[user] = u
	}
	u.used = now
	return u
}

func (l *userLimits) allowChat(user string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.get(user, now).chat.AllowN(now, 1)
}

func (l *userLimits) allowSticker(user string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.get(user, now).sticker.AllowN(now, 1)
}

// sweep forgets users idle for longer than it takes their buckets to refill.
func (l *userLimits) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, u := range l.users {
		if now.Sub(u.used) > l.idle {
			delete(l.users, id)
		}
	}
}

// bucket is a token bucket for one connection's commands, small enough to
// sit in the connection (a rate.Limiter is ten times its size). Only the
// connection's reader uses it.
type bucket struct {
	tokens float64
	last   int64 // Unix nanoseconds of the last refill
}

func (b *bucket) fill(burst int) { b.tokens = float64(burst) }

// take refills the bucket at r per second up to burst and takes a token
// if there is one.
func (b *bucket) take(now time.Time, r rate.Limit, burst int) bool {
	t := now.UnixNano()
	if b.last != 0 {
		b.tokens = min(float64(burst), b.tokens+float64(r)*float64(t-b.last)/1e9)
	}
	b.last = t
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
