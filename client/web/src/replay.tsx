// The replay of an ended fundraiser: its recording as HLS video on demand,
// with every donation's alert shown again at its moment in the video and a
// timeline of donation markers to jump to. The playlist's
// EXT-X-PROGRAM-DATE-TIME (one per segment) maps a donation's wall-clock
// time to the video, across broadcasts (a discontinuity between them).

import { useEffect, useRef, useState } from 'preact/hooks';
import type { Donation, Replay } from './api';
import { getFundraiser, listReplayDonations } from './api';
import { AlertStack, useAlerts } from './alerts';
import { money } from './format';
import type { PlaybackClock } from './player';

const HLS_MIME = 'application/vnd.apple.mpegurl';

/** One segment of the replay: where it sits in the video (s) and in wall-clock time (Unix ms). */
interface Span {
  start: number;
  dur: number;
  pdt: number;
}

/** Video time (s) of a wall-clock moment; a moment between broadcasts goes to the next one's start. */
export function wallToVideo(spans: Span[], ts: number): number {
  if (spans.length === 0) return 0;
  for (const s of spans) {
    if (ts < s.pdt) return s.start;
    if (ts < s.pdt + s.dur * 1000) return s.start + (ts - s.pdt) / 1000;
  }
  const last = spans[spans.length - 1];
  return last.start + last.dur;
}

/** Wall-clock moment (Unix ms) of a video time, or null outside the video. */
export function videoToWall(spans: Span[], t: number): number | null {
  for (const s of spans) {
    if (t >= s.start && t < s.start + s.dur) return s.pdt + (t - s.start) * 1000;
  }
  const last = spans[spans.length - 1];
  return last ? last.pdt + last.dur * 1000 : null;
}

interface Gift extends Donation {
  /** Where its alert plays, in seconds of video. */
  at: number;
  ts: number;
}

/** How far playback may advance between two checks and still count as playing through (not a seek). */
const MAX_STEP = 1.5;

export function ReplayPlayer({ id }: { id: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const [replay, setReplay] = useState<Replay | null | undefined>(undefined);
  const [donations, setDonations] = useState<Donation[]>([]);
  const [spans, setSpans] = useState<Span[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [now, setNow] = useState(0);
  const clock = useRef<PlaybackClock>(() => null);
  const alerts = useAlerts(clock);
  const last = useRef(-0.001);

  // Where the replay is: the snapshot says; a recording still being
  // finished is asked again for a little while.
  useEffect(() => {
    const ctl = new AbortController();
    let tries = 0;
    let timer = 0;
    const ask = () => {
      getFundraiser(id, ctl.signal).then(
        (snap) => {
          const r = snap.replay;
          if (r && r.recording && tries++ < 20) {
            timer = window.setTimeout(ask, 1000);
            return;
          }
          setReplay(r && r.available ? r : null);
        },
        () => {
          if (!ctl.signal.aborted) setReplay(null);
        },
      );
    };
    ask();
    listReplayDonations(id, ctl.signal).then(setDonations, () => undefined);
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [id]);

  // The player: hls.js's light build, or the browser's own HLS (Safari).
  useEffect(() => {
    const v = video.current;
    if (!v || !replay) return;
    let cancelled = false;
    let destroy = () => {};
    const fallback: Span[] = replay.started_at ? [{ start: 0, dur: replay.duration_ms / 1000, pdt: Date.parse(replay.started_at) }] : [];
    if (v.canPlayType(HLS_MIME) && !('MediaSource' in window)) {
      setSpans(fallback);
      v.src = replay.url;
      void v.play().catch(() => undefined);
      return () => v.removeAttribute('src');
    }
    import('hls.js/light').then(
      ({ default: Hls }) => {
        if (cancelled) return;
        if (!Hls.isSupported()) {
          setFailure('this browser cannot play the replay (no Media Source Extensions)');
          return;
        }
        const h = new Hls({ enableWorker: false });
        destroy = () => h.destroy();
        h.on(Hls.Events.LEVEL_LOADED, (_e, data) => {
          const got = data.details.fragments
            .filter((f) => f.programDateTime !== null)
            .map((f) => ({ start: f.start, dur: f.duration, pdt: f.programDateTime as number }));
          setSpans(got.length > 0 ? got : fallback);
        });
        h.on(Hls.Events.MANIFEST_PARSED, () => void v.play().catch(() => undefined));
        h.on(Hls.Events.ERROR, (_e, data) => {
          if (data.fatal) setFailure('the replay could not be played');
        });
        h.loadSource(replay.url);
        h.attachMedia(v);
      },
      () => !cancelled && setFailure('the player failed to load'),
    );
    return () => {
      cancelled = true;
      destroy();
    };
  }, [replay]);

  const gifts: Gift[] = spans.length === 0 ? [] : donations.map((d) => {
    const ts = Date.parse(d.created_at ?? '');
    return { ...d, ts, at: wallToVideo(spans, ts) };
  });

  // Each gift's alert plays again when playback passes its moment; a seek
  // (a jump) passes nothing.
  useEffect(() => {
    const v = video.current;
    if (!v) return;
    clock.current = () => (spans.length > 0 ? videoToWall(spans, v.currentTime) : null);
    const tick = () => {
      const t = v.currentTime;
      setNow(t);
      const prev = last.current;
      last.current = t;
      if (v.seeking || t < prev || t - prev > MAX_STEP) return;
      for (const g of gifts) {
        if (g.at > prev && g.at <= t) {
          const wall = videoToWall(spans, g.at) ?? g.ts;
          alerts.push({ key: `d-${g.id}`, ts: Math.min(g.ts, wall), kind: 'donation', title: `${g.name} gave ${money(g.amount, g.currency)}`, body: g.message || undefined });
        }
      }
    };
    const seeked = () => (last.current = v.currentTime);
    v.addEventListener('timeupdate', tick);
    v.addEventListener('seeked', seeked);
    return () => {
      v.removeEventListener('timeupdate', tick);
      v.removeEventListener('seeked', seeked);
    };
  }, [spans, donations]);

  if (replay === null) return null;
  const length = spans.length > 0 ? spans[spans.length - 1].start + spans[spans.length - 1].dur : (replay?.duration_ms ?? 0) / 1000;
  const jump = (g: Gift) => {
    const v = video.current;
    if (!v) return;
    // A moment before the gift, so its alert plays as it did live.
    v.currentTime = Math.max(0, g.at - 1);
    last.current = v.currentTime;
    void v.play().catch(() => undefined);
  };

  return (
    <div class="replay" data-testid="replay">
      <h3>Watch the replay</h3>
      <div class="screen replay-screen">
        <video ref={video} data-testid="replay-video" controls muted autoplay playsInline preload="metadata" />
        <AlertStack alerts={alerts.visible} />
        {failure && <p class="player-note">{failure}</p>}
      </div>
      {length > 0 && (
        <div class="replay-timeline" data-testid="replay-timeline" aria-label="Donations in the replay">
          <div class="replay-progress" style={{ width: `${Math.min(100, (now / length) * 100)}%` }} />
          {gifts.map((g) => (
            <button
              type="button"
              key={g.id}
              class="replay-marker"
              data-testid="replay-marker"
              data-id={g.id}
              data-at={g.at.toFixed(3)}
              style={{ left: `${Math.min(100, Math.max(0, (g.at / length) * 100))}%` }}
              title={`${g.name} gave ${money(g.amount, g.currency)}`}
              aria-label={`Jump to ${g.name}'s gift of ${money(g.amount, g.currency)}`}
              onClick={() => jump(g)}
            />
          ))}
        </div>
      )}
    </div>
  );
}
