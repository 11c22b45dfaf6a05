package record

import (
	"os"
	"path/filepath"
	"time"
)

func (r *Recorder) sweepLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.Sweep()
		case <-r.done:
			return
		}
	}
}

// Sweep deletes the broadcasts that ended more than Retention ago (by the
// Config's clock) and returns how many it deleted. The broadcast being
// written is never deleted (older ones of its fundraiser may be); one whose node stopped mid-way ended at its
// last segment. Without Retention it deletes nothing. The sweeper calls it
// every SweepEvery; tests call it directly.
func (r *Recorder) Sweep() int {
	if r.cfg.Retention <= 0 {
		return 0
	}
	now := r.cfg.Now()
	ids, err := os.ReadDir(r.cfg.Dir)
	if err != nil {
		return 0
	}
	deleted := 0
	for _, de := range ids {
		id := de.Name()
		if !de.IsDir() || !validID(id) {
			continue
		}
		bs, err := os.ReadDir(filepath.Join(r.cfg.Dir, id))
		if err != nil {
			continue
		}
		left, before := len(bs), deleted
		for _, b := range bs {
			if !b.IsDir() || !broadcastName.MatchString(b.Name()) || r.isWriting(id, b.Name()) {
				continue
			}
			dir := filepath.Join(r.cfg.Dir, id, b.Name())
			if end, ok := endedAt(dir); ok && !now.Before(end.Add(r.cfg.Retention)) {
				if err := os.RemoveAll(dir); err != nil {
					r.log.Warn("recording: failed to delete an expired broadcast", "fundraiser", id, "broadcast", b.Name(), "err", err)
					continue
				}
				deleted++
				left--
				r.m.deleted.Inc()
				r.log.Info("recording deleted: past its retention", "fundraiser", id, "broadcast", b.Name())
			}
		}
		if left == 0 {
			os.Remove(filepath.Join(r.cfg.Dir, id)) // only if empty
		}
		if deleted > before {
			r.changed(id)
		}
	}
	return deleted
}

// endedAt is when a broadcast ended: its end line, else its last
// segment's end, else when its directory last changed.
func endedAt(dir string) (time.Time, bool) {
	ix, err := readIndex(dir)
	if err == nil {
		if ix.Ended {
			return ix.End, true
		}
		if n := len(ix.Segments); n > 0 {
			last := ix.Segments[n-1]
			return last.Start.Add(last.Duration), true
		}
		return ix.Start, true
	}
	st, err := os.Stat(dir)
	if err != nil {
		return time.Time{}, false
	}
	return st.ModTime(), true
}
