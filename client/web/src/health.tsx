// The studio's stream health panel: while the broadcaster is on air, how
// the stream reaches the server (bitrate, frame rate, keyframe interval,
// codecs, lateness, damaged frames), with the server's plain-words advice,
// so OBS settings can be fixed without going off air.

import { useEffect, useState } from 'preact/hooks';
import { describe, getStreamHealth, type StreamHealth } from './api';

/** How often the panel asks while the stream is on air. */
const EVERY_MS = 2000;

export function HealthPanel({ id, token, live }: { id: string; token: string; live: boolean }) {
  const [health, setHealth] = useState<StreamHealth | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    setHealth(null);
    setError('');
    if (!live) return;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      getStreamHealth(token, id, abort.signal).then(
        (h) => {
          setHealth(h);
          setError('');
          timer = setTimeout(load, EVERY_MS);
        },
        (err) => {
          if (abort.signal.aborted) return;
          setError(describe(err));
          timer = setTimeout(load, EVERY_MS * 2);
        },
      );
    };
    load();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [id, token, live]);

  if (!live) return null;
  const v = health?.video;
  const a = health?.audio;
  return (
    <section class="studio-health" data-testid="studio-health" aria-live="polite">
      <h2>Stream health</h2>
      {error && <p class="hint">{error}</p>}
      {health && !health.live && <p class="hint">Waiting for the first seconds of your stream…</p>}
      {health?.live && (
        <>
          <dl class="health-figures">
            <dt>Bitrate</dt>
            <dd data-testid="health-bitrate">{kbps(health.bitrate ?? 0)}</dd>
            {v && (
              <>
                <dt>Video</dt>
                <dd data-testid="health-video">
                  {v.codec}
                  {v.width ? `, ${v.width}×${v.height}` : ''}
                </dd>
                <dt>Frame rate</dt>
                <dd data-testid="health-fps">{v.frame_rate ? `${v.frame_rate.toFixed(0)} fps` : '…'}</dd>
                <dt>Keyframe interval</dt>
                <dd data-testid="health-keyframes" data-ms={v.keyframe_interval_ms ?? 0}>
                  {v.keyframe_interval_ms ? `${(v.keyframe_interval_ms / 1000).toFixed(1)} s` : '…'}
                </dd>
              </>
            )}
            <dt>Audio</dt>
            <dd data-testid="health-audio">{a ? `${a.codec}, ${(a.sample_rate / 1000).toFixed(1)} kHz` : 'none'}</dd>
            <dt>Arriving late by</dt>
            <dd data-testid="health-behind">{((health.behind_ms ?? 0) / 1000).toFixed(1)} s</dd>
            <dt>Damaged frames</dt>
            <dd data-testid="health-dropped">{health.dropped_frames ?? 0}</dd>
          </dl>
          {health.warnings.length === 0 ? (
            <p class="health-ok" data-testid="health-ok">
              ✓ All good for low delay.
            </p>
          ) : (
            <ul class="health-warnings" data-testid="health-warnings">
              {health.warnings.map((w) => (
                <li key={w}>⚠ {w}</li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

function kbps(bits: number): string {
  if (bits >= 10_000_000) return `${(bits / 1_000_000).toFixed(0)} Mbit/s`;
  if (bits >= 1_000_000) return `${(bits / 1_000_000).toFixed(1)} Mbit/s`;
  return `${Math.round(bits / 1000)} kbit/s`;
}
