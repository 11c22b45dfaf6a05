// Small pieces the pages share: notes that clear themselves, copying,
// times, and the goal bar.

import { useEffect, useRef, useState } from 'preact/hooks';
import { money, percent } from './format';

/**
 * A note for the person (an error or a refusal) that goes away by itself
 * after a while, or when set again; clear() removes it at once, as when
 * its cause is gone.
 */
export function useNote(ms = 6000): [string | null, (n: string | null) => void] {
  const [note, setNote] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const set = (n: string | null) => {
    clearTimeout(timer.current);
    setNote(n);
    if (n) timer.current = setTimeout(() => setNote(null), ms);
  };
  return [note, set];
}

/** Copies text, falling back to a selection where the Clipboard API is missing (plain http). */
export async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

export function CopyButton({ text, testid, label = 'Copy' }: { text: string; testid: string; label?: string }) {
  const [done, setDone] = useState<'' | 'copied' | 'failed'>('');
  return (
    <button
      type="button"
      data-testid={testid}
      data-copied={done}
      onClick={async () => {
        setDone((await copy(text)) ? 'copied' : 'failed');
        setTimeout(() => setDone(''), 2000);
      }}
    >
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Copy failed' : label}
    </button>
  );
}

const clock = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

/** A time of day as people read it ("7:42 PM"). */
export function timeOf(ms: number | string | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '' : clock.format(d);
}

/** The goal bar: a progressbar with its values, for screen readers too. */
export function GoalBar({ raised, goal, currency, testid }: { raised: number; goal: number; currency: string; testid?: string }) {
  const p = percent(raised, goal);
  return (
    <div
      class="goal-bar"
      role="progressbar"
      aria-label="Raised of the goal"
      aria-valuemin={0}
      aria-valuemax={goal}
      aria-valuenow={Math.min(raised, goal)}
      aria-valuetext={`${money(raised, currency)} of ${money(goal, currency)} (${Math.floor(p)}%)`}
      data-testid={testid}
    >
      <div class="goal-fill" style={{ width: `${p}%` }} />
    </div>
  );
}
