// The REST half of the contract (/api/v1): typed answers, RFC 9457
// problems, and a donation call that retries safely.

export interface Money {
  amount: number;
  currency: string;
}

export type FundraiserStatus = 'scheduled' | 'live' | 'ended';

export interface Fundraiser {
  id: string;
  title: string;
  status: FundraiserStatus;
  nonprofit: { id: string; name: string; country: string };
  broadcaster: { id: string; name: string };
  goal: Money;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  milestones: number[];
  /** In lists only: the amount raised, whether video arrives now, and (where known) viewers. */
  raised?: number;
  on_air?: boolean;
  viewers?: number;
}

export interface Totals {
  raised: number;
  goal: number;
  donors: number;
  donations?: number;
  currency: string;
}

export type StreamStatus = 'offline' | 'live' | 'ended';

export interface StreamState {
  status: StreamStatus;
  hls: string | null;
}

export interface Donation {
  id: string;
  name: string;
  amount: number;
  currency: string;
  message: string;
  created_at?: string;
}

export interface TopDonor {
  name: string;
  amount: number;
  donations: number;
}

export interface Position {
  epoch: string;
  offset: number;
}

/** The rules a chat message meets (the snapshot's chat, the chat.settings event). */
export interface ChatSettings {
  slow_mode_seconds: number;
  donors_only: boolean;
  new_chatter_wait_seconds: number;
  closed: boolean;
}

export interface ChatMessage {
  id: string;
  user: { id: string; name: string; badges: string[] };
  text: string;
  ts: number;
}

/** Where a fundraiser's recording is played back (the snapshot's replay). */
export interface Replay {
  url: string;
  available: boolean;
  recording: boolean;
  started_at: string | null;
  duration_ms: number;
}

export interface Snapshot extends Fundraiser {
  replay?: Replay;
  totals: Totals;
  stream: StreamState;
  recent_donations: Donation[];
  top_donors: TopDonor[];
  chat: ChatSettings;
  thanks: string;
  recent_chat?: ChatMessage[];
  position: Position;
}

export interface Session {
  token: string;
  user: { id: string; name: string };
  expires_at: string;
}

export interface DonationRequest {
  amount: number;
  currency: string;
  name: string;
  message: string;
  anonymous: boolean;
}

export interface Receipt {
  id: string;
  fundraiser_id?: string;
  status: 'pending' | 'succeeded' | 'failed' | 'refunded';
  name: string;
  amount: number;
  currency: string;
  message: string;
  anonymous: boolean;
  failure_reason?: string;
  created_at?: string;
  settled_at?: string | null;
  refunded_at?: string | null;
  /** How to finish paying: for a pending Stripe payment, its client secret. */
  payment?: { provider: string; client_secret?: string };
}

/** How the donation form collects money on this server. */
export interface PaymentConfig {
  provider: 'sandbox' | 'stripe';
  min_amount: number;
  max_amount: number;
  publishable_key?: string;
  stripe_js_url?: string;
}

/** A donation's public receipt (the page /d/{id}). */
export interface DonationReceipt {
  donation: Receipt;
  fundraiser: { id: string; title: string; status: FundraiserStatus; broadcaster: { id: string; name: string } };
  nonprofit: { id: string; name: string; registration_id: string; country: string };
  direct: boolean;
}

/** A refusal from the API: an RFC 9457 problem document. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly fields: { field: string; message: string }[] = [],
    readonly retryAfter: number | null = null,
    readonly type: string = 'about:blank',
  ) {
    super(detail || title || `HTTP ${status}`);
  }

  /** Whether the request may not have been handled and can be sent again. */
  get transient(): boolean {
    return this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

interface RequestOptions {
  body?: unknown;
  token?: string | null;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: opts.signal,
    credentials: 'same-origin',
    cache: 'no-store',
  });
  if (res.status === 204) return undefined as T;
  if (res.ok) return (await res.json()) as T;
  throw await problem(res);
}

async function problem(res: Response): Promise<Problem> {
  const retry = Number(res.headers.get('Retry-After'));
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
  try {
    const p = await res.json();
    return new Problem(
      res.status,
      String(p.title ?? ''),
      String(p.detail ?? ''),
      Array.isArray(p.errors) ? p.errors : [],
      retryAfter,
      String(p.type ?? 'about:blank'),
    );
  } catch {
    return new Problem(res.status, res.statusText, `the server answered ${res.status}`, [], retryAfter);
  }
}

export function getFundraiser(id: string, signal?: AbortSignal): Promise<Snapshot> {
  return request<Snapshot>('GET', `/fundraisers/${encodeURIComponent(id)}`, { signal });
}

/** The donations a replay shows again, oldest first: every page, up to max. */
export async function listReplayDonations(id: string, signal?: AbortSignal, max = 2000): Promise<Donation[]> {
  const all: Donation[] = [];
  let before: string | null = null;
  while (all.length < max) {
    const q: string = before ? `&before=${encodeURIComponent(before)}` : '';
    const page: { items: Donation[]; next: string | null } = await request('GET', `/fundraisers/${encodeURIComponent(id)}/replay/donations?limit=200${q}`, { signal });
    all.push(...page.items);
    if (!page.next) break;
    before = page.next;
  }
  return all.reverse();
}

let paymentConfig: Promise<PaymentConfig> | null = null;

/** The server's payment set-up, asked once per page (retried after a failure). */
export function getPaymentConfig(): Promise<PaymentConfig> {
  if (!paymentConfig) {
    paymentConfig = request<PaymentConfig>('GET', '/payments/config');
    paymentConfig.catch(() => (paymentConfig = null));
  }
  return paymentConfig;
}

/** One donation's public view and status. */
export function getDonation(fundraiser: string, donation: string, signal?: AbortSignal): Promise<Receipt> {
  return request<Receipt>('GET', `/fundraisers/${encodeURIComponent(fundraiser)}/donations/${encodeURIComponent(donation)}`, { signal });
}

/** A donation's receipt, for whoever has its id. */
export function getReceipt(donation: string, signal?: AbortSignal): Promise<DonationReceipt> {
  return request<DonationReceipt>('GET', `/donations/${encodeURIComponent(donation)}`, { signal });
}

/** For the home page: every live fundraiser, those coming up, and the latest that ended. */
export async function listAll(signal?: AbortSignal): Promise<Fundraiser[]> {
  const lists = await Promise.all(
    ['status=live&limit=50', 'status=scheduled&limit=30', 'status=ended&limit=6'].map((q) =>
      request<{ items: Fundraiser[] }>('GET', `/fundraisers?${q}`, { signal }),
    ),
  );
  return lists.flatMap((l) => l.items);
}

// The broadcaster's calls (the studio). The token only ever travels in the
// Authorization header.

export interface Nonprofit {
  id: string;
  name: string;
  country: string;
}

export interface Ingest {
  ingest_url: string;
  stream_key: string;
  /** The WHIP endpoint (browser, OBS 30+), when the server takes WHIP. */
  whip_url?: string;
}

export interface DonationRecord {
  id: string;
  status: 'pending' | 'succeeded' | 'failed' | 'refunded';
  name: string;
  amount: number;
  currency: string;
  message: string;
  /** The broadcaster hid the message; it can be shown again. */
  message_hidden?: boolean;
  anonymous: boolean;
  created_at: string;
}

export interface DonationPage {
  items: DonationRecord[];
  next: string | null;
}

const path = (id: string, rest = '') => `/fundraisers/${encodeURIComponent(id)}${rest}`;

export async function listFundraisers(broadcaster: string | null, signal?: AbortSignal): Promise<Fundraiser[]> {
  const q = broadcaster ? `&broadcaster_id=${encodeURIComponent(broadcaster)}` : '';
  const list = await request<{ items: Fundraiser[] }>('GET', `/fundraisers?limit=100${q}`, { signal });
  return list.items;
}

export async function listNonprofits(signal?: AbortSignal): Promise<Nonprofit[]> {
  const list = await request<{ items: Nonprofit[] }>('GET', '/nonprofits', { signal });
  return list.items;
}

export function createFundraiser(token: string, req: { title: string; nonprofit_id: string; goal: Money }): Promise<Fundraiser & Ingest> {
  return request('POST', '/fundraisers', { token, body: req });
}

/** getMe names the broadcaster a token belongs to (401: not a valid token). */
export function getMe(token: string, signal?: AbortSignal): Promise<{ id: string; name: string }> {
  return request('GET', '/broadcasters/me', { token, signal });
}

/** rotateStreamKey replaces the stream key; the publisher using the old one is cut off. */
export function rotateStreamKey(token: string, id: string): Promise<Ingest> {
  return request('POST', path(id, '/ingest/rotate'), { token });
}

/** How the broadcaster's stream reaches the server (GET /fundraisers/{id}/stream/health). */
export interface StreamHealth {
  live: boolean;
  since?: string;
  bitrate?: number;
  video?: { codec: string; width?: number; height?: number; frame_rate?: number; keyframe_interval_ms?: number };
  audio?: { codec: string; sample_rate: number; channels: number };
  behind_ms?: number;
  dropped_frames?: number;
  warnings: string[];
}

export function getStreamHealth(token: string, id: string, signal?: AbortSignal): Promise<StreamHealth> {
  return request<StreamHealth>('GET', `/fundraisers/${encodeURIComponent(id)}/stream/health`, { token, signal });
}

export function getIngest(token: string, id: string, signal?: AbortSignal): Promise<Ingest> {
  return request('GET', path(id, '/ingest'), { token, signal });
}

export function listDonations(token: string, id: string, before: string | null, signal?: AbortSignal): Promise<DonationPage> {
  const q = before ? `&before=${encodeURIComponent(before)}` : '';
  return request('GET', path(id, `/donations?limit=50${q}`), { token, signal });
}

export function shoutOut(token: string, id: string, donation: string, text: string): Promise<unknown> {
  return request('POST', path(id, '/shoutouts'), { token, body: { donation_id: donation, text } });
}

export function hideMessage(token: string, id: string, donation: string): Promise<unknown> {
  return request('POST', path(id, `/donations/${encodeURIComponent(donation)}/hide`), { token });
}

export function unhideMessage(token: string, id: string, donation: string): Promise<DonationRecord> {
  return request('POST', path(id, `/donations/${encodeURIComponent(donation)}/unhide`), { token });
}

/** raiseGoal raises (never lowers) the goal; the room hears a fundraiser event. */
export function raiseGoal(token: string, id: string, goal: Money): Promise<Fundraiser> {
  return request('PUT', path(id, '/goal'), { token, body: goal });
}

export function deleteChat(token: string, id: string, message: string): Promise<unknown> {
  return request('DELETE', path(id, `/chat/${encodeURIComponent(message)}`), { token });
}

export function banUser(token: string, id: string, user: string): Promise<unknown> {
  return request('PUT', path(id, `/bans/${encodeURIComponent(user)}`), { token });
}

export function unbanUser(token: string, id: string, user: string): Promise<unknown> {
  return request('DELETE', path(id, `/bans/${encodeURIComponent(user)}`), { token });
}

export function timeoutUser(token: string, id: string, user: string, seconds: number): Promise<unknown> {
  return request('PUT', path(id, `/timeouts/${encodeURIComponent(user)}`), { token, body: { duration_seconds: seconds } });
}

export interface Ban {
  user_id: string;
  name: string;
  created_at: string;
  expires_at?: string;
}

export async function listBans(token: string, id: string, signal?: AbortSignal): Promise<Ban[]> {
  const list = await request<{ items: Ban[] }>('GET', path(id, '/bans'), { token, signal });
  return list.items;
}

export function setChatModes(token: string, id: string, modes: { donors_only: boolean; new_chatter_wait_seconds: number }): Promise<ChatSettings> {
  return request('PUT', path(id, '/chat-modes'), { token, body: modes });
}

export function setThanks(token: string, id: string, text: string): Promise<{ text: string }> {
  return request('PUT', path(id, '/thanks'), { token, body: { text } });
}

export function sendTestAlert(token: string, id: string): Promise<unknown> {
  return request('POST', path(id, '/test-alert'), { token });
}

export function setSlowMode(token: string, id: string, seconds: number): Promise<{ seconds: number }> {
  return request('PUT', path(id, '/slow-mode'), { token, body: { seconds } });
}

export function endFundraiser(token: string, id: string): Promise<Fundraiser> {
  return request('POST', path(id, '/end'), { token });
}

/** The CSV report, fetched with the token in the header (never in a URL). */
export async function getReport(token: string, id: string): Promise<Blob> {
  const res = await fetch(`/api/v1${path(id, '/report.csv')}`, {
    headers: { Accept: 'text/csv', Authorization: `Bearer ${token}` },
    credentials: 'same-origin',
    cache: 'no-store',
  });
  if (res.ok) return res.blob();
  throw await problem(res);
}

export function createSession(name: string): Promise<Session> {
  return request<Session>('POST', '/sessions', { body: { name } });
}

/**
 * sendDonation gives to a fundraiser. Whatever may not have reached the
 * server (a network failure, a 5xx, a 429) is sent again with the same
 * Idempotency-Key, so the gift counts at most once however often it is
 * retried; other refusals are thrown at once.
 */
export async function sendDonation(
  fundraiser: string,
  req: DonationRequest,
  key: string,
  token: string | null,
  opts: { attempts?: number; signal?: AbortSignal; onRetry?: (attempt: number) => void } = {},
): Promise<Receipt> {
  const attempts = opts.attempts ?? 4;
  for (let attempt = 0; ; attempt++) {
    try {
      return await request<Receipt>('POST', `/fundraisers/${encodeURIComponent(fundraiser)}/donations`, {
        body: req,
        token,
        headers: { 'Idempotency-Key': key },
        signal: opts.signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const transient = !(err instanceof Problem) || err.transient;
      if (!transient || attempt + 1 >= attempts) throw err;
      const wait = err instanceof Problem && err.retryAfter !== null ? err.retryAfter * 1000 : backoff(attempt, 500, 8000);
      opts.onRetry?.(attempt + 1);
      await sleep(wait, opts.signal);
    }
  }
}

/** Exponential backoff with full jitter: a random wait up to base·2ⁿ, capped. */
export function backoff(attempt: number, base: number, cap: number): number {
  return Math.random() * Math.min(cap, base * 2 ** attempt);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}

/**
 * A fresh idempotency key. crypto.randomUUID exists only in secure contexts
 * (https, localhost); a phone on the LAN over plain http gets the same kind
 * of version 4 UUID from getRandomValues.
 */
export function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A message for a person, from whatever a call threw. */
export function describe(err: unknown): string {
  if (err instanceof Problem) {
    if (err.fields.length > 0) return err.fields.map((f) => `${f.field}: ${f.message}`).join('; ');
    return err.detail || err.title;
  }
  if (err instanceof Error && err.name === 'AbortError') return 'cancelled';
  return 'the server could not be reached; check your connection';
}
