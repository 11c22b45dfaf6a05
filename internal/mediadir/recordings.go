package mediadir

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Recordings: which node keeps each broadcast of a fundraiser, so any node
// serves its replay. They live in one hash per fundraiser,
// gl:{fundraiser}:recordings, a field per broadcast (its name) whose value
// is a Broadcast in JSON. Unlike the live entries they do not expire with
// their node: a replay outlives the broadcast (the hash expires with the
// retention, when there is one).

// Broadcast is one recorded broadcast as the directory lists it.
type Broadcast struct {
	Name      string    `json:"-"`
	Node      string    `json:"node"`       // the recording node's base URL (Config.Self there)
	StartedAt time.Time `json:"started_at"` // wall clock of its first frame
	Duration  int64     `json:"duration_ms"`
	Ended     bool      `json:"ended"`
}

// maxBroadcasts bounds what Broadcasts reads of one fundraiser.
const maxBroadcasts = 1000

func (d *Directory) recordingsKey(id string) string { return d.cfg.Prefix + ":{" + id + "}:recordings" }

// NoteBroadcasts records this node's broadcasts of fundraiserID (their
// Node is set to this node) and drops the names in gone. keep > 0 makes
// the hash expire keep after this call.
func (d *Directory) NoteBroadcasts(ctx context.Context, fundraiserID string, bs []Broadcast, gone []string, keep time.Duration) error {
	key := d.recordingsKey(fundraiserID)
	pipe := d.client.TxPipeline()
	for _, b := range bs {
		b.Node = d.cfg.Self
		v, err := json.Marshal(b)
		if err != nil {
			return err
		}
		pipe.HSet(ctx, key, b.Name, v)
	}
	if len(gone) > 0 {
		pipe.HDel(ctx, key, gone...)
	}
	if keep > 0 {
		pipe.Expire(ctx, key, keep)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("failed to note the recordings of %s in the media directory: %w", fundraiserID, err)
	}
	return nil
}

// Broadcasts lists fundraiserID's recorded broadcasts, oldest first (at
// most 1000; a malformed field is skipped).
func (d *Directory) Broadcasts(ctx context.Context, fundraiserID string) ([]Broadcast, error) {
	m, err := d.client.HGetAll(ctx, d.recordingsKey(fundraiserID)).Result()
	if err != nil {
		return nil, fmt.Errorf("failed to read the recordings of %s from the media directory: %w", fundraiserID, err)
	}
	out := make([]Broadcast, 0, min(len(m), maxBroadcasts))
	for name, v := range m {
		var b Broadcast
		if json.Unmarshal([]byte(v), &b) != nil || b.Node == "" {
			continue
		}
		b.Name = name
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].Name) != len(out[j].Name) {
			return len(out[i].Name) < len(out[j].Name)
		}
		return out[i].Name < out[j].Name
	})
	if len(out) > maxBroadcasts {
		out = out[len(out)-maxBroadcasts:]
	}
	return out, nil
}
