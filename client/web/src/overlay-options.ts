// The OBS overlays' options, read from their query string. The overlay
// pages use them; the studio's overlay builder writes them.

export type Widget = 'alerts' | 'goal' | 'latest' | 'top' | 'ticker';
export type Position = 'top' | 'center' | 'bottom';

export interface OverlayOptions {
  duration: number; // ms
  tiers: number[]; // ascending
  goal: boolean;
  milestones: boolean;
  /** Gifts below this (minor units) get no alert. */
  min: number;
  /** Messages are cut to this many characters; 0 shows none. */
  maxChars: number;
  /** 'default' (the app's chime), 'off', or an https URL. */
  sound: string;
  volume: number; // 0 to 1
  /** Messages of gifts at or above this (minor units) are read aloud; null: never. */
  tts: number | null;
  /** An https URL of an image or GIF shown with each alert. */
  image: string | null;
  bg: string | null;
  fg: string | null;
  accent: string | null;
  font: string;
  position: Position;
  /** The alert's title, with {name} and {amount}. */
  template: string;
  /** The goal widget's label. */
  label: string | null;
}

const DEFAULT_DURATION = 8;
export const DEFAULT_MAX_CHARS = 140;
export const DEFAULT_TEMPLATE = '{name} gave {amount}!';

/** Font stacks by name; anything else is taken as a font family installed where OBS runs. */
export const FONTS: Record<string, string> = {
  system: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  rounded: 'ui-rounded, "Arial Rounded MT Bold", "Nunito", system-ui, sans-serif',
  serif: 'Georgia, "Times New Roman", serif',
  mono: 'ui-monospace, "Cascadia Mono", Menlo, Consolas, monospace',
  impact: 'Impact, "Anton", "Arial Black", sans-serif',
};

const COLOR = /^#[0-9a-fA-F]{3,8}$/;

function httpsURL(v: string | null): string | null {
  if (!v) return null;
  try {
    const u = new URL(v);
    return u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

function color(v: string | null): string | null {
  return v && COLOR.test(v) ? v : null;
}

/** Reads the overlay's options from a query string; bad values mean defaults. */
export function overlayOptions(search: string): OverlayOptions {
  const q = new URLSearchParams(search);
  const num = (k: string) => {
    const v = q.get(k);
    return v === null || v.trim() === '' ? NaN : Number(v);
  };
  const d = num('duration');
  const duration = Number.isFinite(d) && d >= 2 && d <= 60 ? d : DEFAULT_DURATION;
  const tiers = (q.get('tiers') ?? '')
    .split(',')
    .map((t) => Number(t.trim()))
    .filter((t) => Number.isInteger(t) && t > 0)
    .sort((a, b) => a - b)
    .slice(0, 10);
  const min = num('min');
  const max = num('maxchars');
  const vol = num('volume');
  const tts = num('tts');
  const sound = q.get('sound') ?? 'default';
  const pos = q.get('position');
  const font = (q.get('font') ?? 'system').slice(0, 60);
  const template = (q.get('template') ?? '').slice(0, 120);
  return {
    duration: duration * 1000,
    tiers,
    goal: q.get('goal') !== '0',
    milestones: q.get('milestones') !== '0',
    min: Number.isInteger(min) && min > 0 ? min : 0,
    maxChars: Number.isInteger(max) && max >= 0 && max <= 500 ? max : DEFAULT_MAX_CHARS,
    sound: sound === 'off' || sound === 'default' ? sound : (httpsURL(sound) ?? 'default'),
    volume: Number.isFinite(vol) && vol >= 0 && vol <= 100 ? vol / 100 : 0.8,
    tts: Number.isInteger(tts) && tts >= 0 ? tts : null,
    image: httpsURL(q.get('image')),
    bg: color(q.get('bg')),
    fg: color(q.get('fg')),
    accent: color(q.get('accent')),
    font: /^[\w ,"'-]+$/.test(font) ? font : 'system',
    position: pos === 'center' || pos === 'bottom' ? pos : 'top',
    template: template.includes('{name}') || template.includes('{amount}') ? template : DEFAULT_TEMPLATE,
    label: q.get('label')?.slice(0, 60) || null,
  };
}

/** The tier of an amount: 0 below the first threshold, n at or above the nth. */
export function tierOf(amount: number, tiers: number[]): number {
  let n = 0;
  for (const t of tiers) if (amount >= t) n++;
  return n;
}

/** A message cut to max characters (whole code points), with an ellipsis. */
export function capMessage(m: string, max: number): string {
  const chars = Array.from(m);
  if (max <= 0) return '';
  return chars.length <= max ? m : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

