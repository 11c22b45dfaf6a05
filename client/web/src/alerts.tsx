// On-stream alerts (donations, milestones, shout-outs), timed to the video:
// the stream reaches a viewer some seconds after it happened, so an alert
// waits until the frame on screen is as late as the event's ts. Without a
// program date-time (no stream, or a player that cannot tell) it shows at
// once.

import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { PlaybackClock } from './player';

export interface Alert {
  key: string;
  /** Server time of the event (Unix ms). */
  ts: number;
  kind: 'donation' | 'milestone' | 'shoutout';
  title: string;
  body?: string;
}

interface Shown extends Alert {
  shownAt: number;
  /** The playback clock when it was shown; null: shown at once. */
  clock: number | null;
}

const VISIBLE = 3; // alerts on screen at once
const SHOW_FOR = 7000;
// An alert never waits longer than this (a paused or far-behind player).
const MAX_WAIT = 30_000;
const TICK = 100;

export function useAlerts(clock: RefObject<PlaybackClock>) {
  const pending = useRef<(Alert & { received: number })[]>([]);
  const shown = useRef<Shown[]>([]);
  const [visible, setVisible] = useState<Shown[]>([]);

  useEffect(() => {
    const t = setInterval(() => {
      const now = Date.now();
      let next = shown.current.filter((a) => now - a.shownAt < SHOW_FOR);
      let changed = next.length !== shown.current.length;
      const c = clock.current();
      while (next.length < VISIBLE && pending.current.length > 0) {
        const a = pending.current[0];
        if (c !== null && c < a.ts && now - a.received < MAX_WAIT) break;
        pending.current.shift();
        const { received: _, ...alert } = a;
        next = [...next, { ...alert, shownAt: now, clock: c }];
        changed = true;
      }
      if (changed) {
        shown.current = next;
        setVisible(next);
      }
    }, TICK);
    return () => clearInterval(t);
  }, []);

  const push = (a: Alert) => {
    const list = pending.current;
    let i = list.length;
    while (i > 0 && list[i - 1].ts > a.ts) i--;
    list.splice(i, 0, { ...a, received: Date.now() });
  };
  return { visible, push };
}

export function AlertStack({ alerts }: { alerts: Shown[] }) {
  return (
    <div class="alerts" aria-live="polite">
      {alerts.map((a) => (
        <div
          key={a.key}
          class={`alert alert-${a.kind}`}
          data-testid="alert"
          data-key={a.key}
          data-ts={a.ts}
          data-shown={a.shownAt}
          data-clock={a.clock ?? ''}
        >
          <strong>{a.title}</strong>
          {a.body && <p>{a.body}</p>}
        </div>
      ))}
    </div>
  );
}
