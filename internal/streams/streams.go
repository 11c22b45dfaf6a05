// Package streams keeps the stream status of each fundraiser on this node
// (offline, live) and turns its changes into the room's "stream" events. A
// fundraiser still scheduled when its stream first starts goes live in the
// ledger, which announces it with a "fundraiser" event through the outbox.
//
// Entry point: New builds a Tracker. The embedded media server reports to
// it through ingest.Events (StreamLive, StreamOffline); with mediamtx in
// front, the API's hook endpoint calls Live and Offline; ending a
// fundraiser calls Ended, which also stops its publisher.
//
// With several nodes, a Directory (internal/mediadir) tells the others
// which node ingests each stream: Live announces it there before the room
// hears "live", Offline withdraws it (and says nothing when another node
// has taken the stream over), IsLive also asks it, and Vanished tells the
// room a stream is offline when its node died without saying so.
//
// Concurrency: a Tracker is safe for concurrent use. Changes are applied
// one at a time, so a room never hears "offline" before the "live" it
// follows.
package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

// Ledger is the part of the store the tracker needs.
type Ledger interface {
	GetFundraiser(ctx context.Context, id string) (store.Fundraiser, error)
	SetFundraiserStatus(ctx context.Context, id, status string) (store.Fundraiser, error)
}

// Publisher publishes a room event (the hub).
type Publisher interface {
	Publish(ctx context.Context, room, typ string, data any) (wire.Position, error)
}

// Directory shares stream status with the other nodes sharing Redis
// (internal/mediadir implements it).
type Directory interface {
	// Announce records that this node ingests the stream.
	Announce(ctx context.Context, fundraiserID string) error
	// Withdraw removes this node's record; elsewhere reports that another
	// node has taken the stream over and it is still live there.
	Withdraw(ctx context.Context, fundraiserID string) (elsewhere bool, err error)
	// Elsewhere reports whether another node ingests the stream.
	Elsewhere(ctx context.Context, fundraiserID string) (bool, error)
}

// directoryTimeout bounds one directory call made while a change is
// applied, so a slow Redis delays a room's "live" by at most that.
const directoryTimeout = 2 * time.Second

// Config configures New. Ledger and Publisher are required.
type Config struct {
	Ledger    Ledger
	Publisher Publisher
	// Notify wakes the outbox after a status change the ledger recorded.
	// Nil means nothing to wake.
	Notify func()
	// Stop ends a fundraiser's publish on the media server. Nil means
	// there is none to stop (mediamtx ends its own).
	Stop func(fundraiserID string) bool
	// Directory shares stream status with other nodes. Nil means this
	// node is alone.
	Directory Directory
	// Logger receives status changes. Nil discards them.
	Logger *slog.Logger
}

// Tracker is the stream status of every fundraiser on this node.
type Tracker struct {
	cfg Config
	log *slog.Logger

	op   sync.Mutex // one change at a time, in order
	mu   sync.Mutex // guards live; held only briefly, for readers
	live map[string]struct{}
}

// New builds a Tracker.
func New(cfg Config) (*Tracker, error) {
	if cfg.Ledger == nil || cfg.Publisher == nil {
		return nil, errors.New("streams: Config.Ledger and Config.Publisher are required")
	}
	if cfg.Notify == nil {
		cfg.Notify = func() {}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Tracker{cfg: cfg, log: cfg.Logger, live: map[string]struct{}{}}, nil
}

// HLSPath is where a fundraiser's stream is played.
func HLSPath(fundraiserID string) string { return "/hls/" + fundraiserID + "/index.m3u8" }

// IsLive reports whether fundraiserID's stream is live: on this node, or
// on another according to the Directory. A directory that cannot be read
// counts as offline (and is logged at debug level: snapshots ask often).
func (t *Tracker) IsLive(ctx context.Context, fundraiserID string) bool {
	if t.IsLocal(fundraiserID) {
		return true
	}
	if t.cfg.Directory == nil {
		return false
	}
	live, err := t.cfg.Directory.Elsewhere(ctx, fundraiserID)
	if err != nil {
		t.log.Debug("stream status from the media directory unavailable", "fundraiser", fundraiserID, "err", err)
		return false
	}
	return live
}

// IsLocal reports whether fundraiserID's stream is live on this node.
func (t *Tracker) IsLocal(fundraiserID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.live[fundraiserID]
	return ok
}

func (t *Tracker) set(id string, live bool) (changed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, was := t.live[id]
	if live {
		t.live[id] = struct{}{}
	} else {
		delete(t.live, id)
	}
	return was != live
}

// Live marks fundraiserID's stream live and tells its room. A scheduled
// fundraiser goes live; an ended one cannot stream and is stopped (with an
// error wrapping store.ErrConflict). Calling it again while live does
// nothing.
func (t *Tracker) Live(ctx context.Context, fundraiserID string) error {
	t.op.Lock()
	defer t.op.Unlock()
	f, err := t.cfg.Ledger.GetFundraiser(ctx, fundraiserID)
	if err != nil {
		return fmt.Errorf("failed to read fundraiser: %w", err)
	}
	if f.Status == store.StatusEnded {
		if t.cfg.Stop != nil {
			t.cfg.Stop(fundraiserID)
		}
		return fmt.Errorf("fundraiser %s has ended: %w", fundraiserID, store.ErrConflict)
	}
	if !t.set(fundraiserID, true) {
		return nil
	}
	t.announce(ctx, fundraiserID)
	if f.Status == store.StatusScheduled {
		if _, err := t.cfg.Ledger.SetFundraiserStatus(ctx, fundraiserID, store.StatusLive); err != nil {
			// The stream is live whatever the ledger says; the status
			// catches up on the next start.
			t.log.Error("failed to mark the fundraiser live", "fundraiser", fundraiserID, "err", err)
		} else {
			t.cfg.Notify()
		}
	}
	t.log.Info("stream live", "fundraiser", fundraiserID)
	return t.publish(ctx, fundraiserID, wire.StreamLive)
}

// Offline marks fundraiserID's stream offline and tells its room, unless
// the fundraiser has ended (Ended has told it). The fundraiser stays live:
// a broadcaster whose encoder drops can come back.
func (t *Tracker) Offline(ctx context.Context, fundraiserID string) error {
	t.op.Lock()
	defer t.op.Unlock()
	if !t.set(fundraiserID, false) {
		return nil
	}
	if t.withdraw(ctx, fundraiserID) {
		// The encoder reconnected to another node, which said "live".
		t.log.Info("stream moved to another node", "fundraiser", fundraiserID)
		return nil
	}
	f, err := t.cfg.Ledger.GetFundraiser(ctx, fundraiserID)
	if err == nil && f.Status == store.StatusEnded {
		return nil
	}
	t.log.Info("stream offline", "fundraiser", fundraiserID)
	return t.publish(ctx, fundraiserID, wire.StreamOffline)
}

// Ended stops fundraiserID's publisher, if any, and tells its room the
// stream has ended. Call it after the fundraiser ended in the ledger.
func (t *Tracker) Ended(ctx context.Context, fundraiserID string) error {
	t.op.Lock()
	defer t.op.Unlock()
	if t.set(fundraiserID, false) {
		t.withdraw(ctx, fundraiserID)
	}
	if t.cfg.Stop != nil {
		t.cfg.Stop(fundraiserID)
	}
	return t.publish(ctx, fundraiserID, wire.StreamEnded)
}

// Vanished tells fundraiserID's room its stream is offline: the node that
// ingested it stopped announcing it without withdrawing it (it died). The
// Directory calls it on one node only. Nothing is said when the stream is
// live here or the fundraiser has ended.
func (t *Tracker) Vanished(ctx context.Context, fundraiserID string) {
	t.op.Lock()
	defer t.op.Unlock()
	if t.IsLocal(fundraiserID) {
		return
	}
	f, err := t.cfg.Ledger.GetFundraiser(ctx, fundraiserID)
	if err != nil {
		t.log.Warn("vanished stream not reported: failed to read fundraiser", "fundraiser", fundraiserID, "err", err)
		return
	}
	if f.Status == store.StatusEnded {
		return
	}
	// A newer publish may have begun on another node since the directory
	// found the entry missing; its room has heard "live" and must not hear
	// a stale "offline" after it.
	if t.cfg.Directory != nil {
		if elsewhere, err := t.cfg.Directory.Elsewhere(ctx, fundraiserID); err == nil && elsewhere {
			return
		}
	}
	t.log.Info("stream offline: its node stopped announcing it", "fundraiser", fundraiserID)
	if err := t.publish(ctx, fundraiserID, wire.StreamOffline); err != nil {
		t.log.Warn("vanished stream not reported", "fundraiser", fundraiserID, "err", err)
	}
}

// announce records the stream in the directory before the room hears
// "live", so that a viewer on another node who hears it finds the HLS. A
// failure is logged: the directory's refresh loop retries.
func (t *Tracker) announce(ctx context.Context, id string) {
	if t.cfg.Directory == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, directoryTimeout)
	defer cancel()
	if err := t.cfg.Directory.Announce(ctx, id); err != nil {
		t.log.Warn("other nodes may not see this stream yet", "fundraiser", id, "err", err)
	}
}

// withdraw removes the stream from the directory and reports whether
// another node has it now.
func (t *Tracker) withdraw(ctx context.Context, id string) (elsewhere bool) {
	if t.cfg.Directory == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), directoryTimeout)
	defer cancel()
	elsewhere, err := t.cfg.Directory.Withdraw(ctx, id)
	if err != nil {
		t.log.Warn("stream not withdrawn from the media directory; it expires there shortly", "fundraiser", id, "err", err)
	}
	return elsewhere
}

func (t *Tracker) publish(ctx context.Context, id, status string) error {
	if _, err := t.cfg.Publisher.Publish(ctx, id, wire.TypeStream, wire.StreamData{Status: status, HLS: HLSPath(id)}); err != nil {
		return fmt.Errorf("failed to publish stream %s: %w", status, err)
	}
	return nil
}

// Disconnect ends fundraiserID's current publish, if this node has one:
// its stream key was replaced. The media server then reports offline.
func (t *Tracker) Disconnect(fundraiserID string) bool {
	return t.cfg.Stop != nil && t.cfg.Stop(fundraiserID)
}

// StreamLive and StreamOffline let the embedded media server report to the
// tracker (they implement ingest.Events).
func (t *Tracker) StreamLive(ctx context.Context, fundraiserID string) {
	if err := t.Live(ctx, fundraiserID); err != nil {
		t.log.Warn("stream live not recorded", "fundraiser", fundraiserID, "err", err)
	}
}

func (t *Tracker) StreamOffline(ctx context.Context, fundraiserID string) {
	if err := t.Offline(ctx, fundraiserID); err != nil {
		t.log.Warn("stream offline not recorded", "fundraiser", fundraiserID, "err", err)
	}
}
