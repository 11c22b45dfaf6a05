// The viewer's identity (a token from POST /sessions) and what they have
// done here, kept in localStorage so a reload keeps them signed in.

import type { Session } from './api';

const SESSION = 'givelive.session';
const DONATED = 'givelive.donated';

// Storage can be missing or refuse writes (private modes, full quota); the
// page then keeps the same data for as long as it is open.
const memory = new Map<string, string>();

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return memory.get(key) ?? null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    if (value === null) memory.delete(key);
    else memory.set(key, value);
  }
}

/** The stored session, unless it expires within a minute. */
export function loadSession(): Session | null {
  const raw = read(SESSION);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    if (typeof s.token !== 'string' || !s.user || Date.parse(s.expires_at) - Date.now() < 60_000) {
      write(SESSION, null);
      return null;
    }
    return s;
  } catch {
    write(SESSION, null);
    return null;
  }
}

export function saveSession(s: Session): void {
  write(SESSION, JSON.stringify(s));
}

export function clearSession(): void {
  write(SESSION, null);
}

function donatedSet(): string[] {
  try {
    const v = JSON.parse(read(DONATED) ?? '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Whether this user gave to this fundraiser from this browser. */
export function hasDonated(userID: string, fundraiser: string): boolean {
  return donatedSet().includes(`${userID}/${fundraiser}`);
}

export function rememberDonated(userID: string, fundraiser: string): void {
  const key = `${userID}/${fundraiser}`;
  const list = donatedSet().filter((k) => k !== key);
  list.push(key);
  write(DONATED, JSON.stringify(list.slice(-100)));
}
