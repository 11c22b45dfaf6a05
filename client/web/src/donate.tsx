// The donation form. Each gift gets one Idempotency-Key; a retry of the
// same gift — automatic after a network failure, or the person pressing the
// button again — sends the same key, so it is never counted twice. Changing
// the gift makes a new key.

import { useEffect, useRef, useState } from 'preact/hooks';
import { describe, newKey, Problem, type Receipt, sendDonation, type Session } from './api';
import { money, parseAmount } from './format';

// Preset amounts in minor units: 5, 10, 25, 50 and 100 of a currency with
// cents; 500 to 10,000 of one without (JPY).
const PRESETS = [500, 1000, 2500, 5000, 10000];
const MAX_MESSAGE = 500;

type Phase =
  | { kind: 'idle' }
  | { kind: 'sending'; attempt: number }
  | { kind: 'done'; receipt: Receipt }
  | { kind: 'error'; message: string };

interface Props {
  fundraiser: string;
  currency: string;
  session: Session | null;
  closed: boolean;
  onDonated(r: Receipt, withSession: Session | null): void;
  onSessionExpired(): void;
}

export function DonateForm({ fundraiser, currency, session, closed, onDonated, onSessionExpired }: Props) {
  const [preset, setPreset] = useState<number | null>(2500);
  const [custom, setCustom] = useState('');
  const [name, setName] = useState(session?.user.name ?? '');
  const [message, setMessage] = useState('');
  const [anonymous, setAnonymous] = useState(false);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  // The key of the gift being given, and what it was for.
  const attempt = useRef<{ key: string; gift: string } | null>(null);

  useEffect(() => {
    if (session && !name) setName(session.user.name);
  }, [session?.user.name]);

  const amount = preset ?? parseAmount(custom, currency);
  const sending = phase.kind === 'sending';

  const submit = async (e: Event) => {
    e.preventDefault();
    if (sending) return;
    if (amount === null || amount <= 0) {
      setPhase({ kind: 'error', message: 'Choose an amount.' });
      return;
    }
    const body = { amount, currency, name: name.trim(), message: message.trim(), anonymous };
    const token = session?.token ?? null;
    const gift = JSON.stringify([fundraiser, body, token]);
    if (!attempt.current || attempt.current.gift !== gift) attempt.current = { key: newKey(), gift };
    const key = attempt.current.key;
    setPhase({ kind: 'sending', attempt: 0 });
    try {
      const r = await sendDonation(fundraiser, body, key, token, {
        onRetry: (n) => setPhase({ kind: 'sending', attempt: n }),
      });
      attempt.current = null; // the next gift is a new one
      if (r.status === 'failed') {
        setPhase({ kind: 'error', message: `The payment failed${r.failure_reason ? `: ${r.failure_reason}` : ''}.` });
        return;
      }
      setPhase({ kind: 'done', receipt: r });
      setMessage('');
      onDonated(r, session);
    } catch (err) {
      if (err instanceof Problem && err.status === 401 && token) {
        attempt.current = null;
        onSessionExpired();
        setPhase({ kind: 'error', message: 'Your session expired. Sign in again, or give without signing in.' });
        return;
      }
      // The key is kept: pressing the button again retries this same gift.
      const transient = !(err instanceof Problem) || err.transient;
      const again = transient ? ' Press Give to try again: the same gift is never counted twice.' : '';
      setPhase({ kind: 'error', message: `Not given: ${describe(err)}.${again}` });
    }
  };

  return (
    <form class="donate" onSubmit={submit} data-testid="donate-form">
      <h2>Give</h2>
      <div class="presets" role="group" aria-label="Amount">
        {PRESETS.map((p) => (
          <button
            type="button"
            key={p}
            class={preset === p ? 'preset selected' : 'preset'}
            aria-pressed={preset === p}
            data-testid={`preset-${p}`}
            onClick={() => setPreset(p)}
          >
            {money(p, currency)}
          </button>
        ))}
        <input
          class={preset === null ? 'custom selected' : 'custom'}
          inputMode="decimal"
          placeholder="Other"
          aria-label="Other amount"
          data-testid="amount"
          value={custom}
          onFocus={() => setPreset(null)}
          onInput={(e) => {
            setPreset(null);
            setCustom(e.currentTarget.value);
          }}
        />
      </div>
      <label>
        Name
        <input
          value={name}
          maxLength={64}
          disabled={anonymous}
          autoComplete="nickname"
          data-testid="donor-name"
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <label>
        Message <small>{message.length}/{MAX_MESSAGE}</small>
        <textarea
          value={message}
          maxLength={MAX_MESSAGE}
          rows={2}
          data-testid="donor-message"
          onInput={(e) => setMessage(e.currentTarget.value)}
        />
      </label>
      <label class="check">
        <input type="checkbox" checked={anonymous} data-testid="anonymous" onChange={(e) => setAnonymous(e.currentTarget.checked)} />
        Give anonymously
      </label>
      <button type="submit" class="give" disabled={sending || closed} data-testid="give">
        {closed ? 'This fundraiser has ended' : sending ? (phase.attempt > 0 ? `Retrying (${phase.attempt})…` : 'Giving…') : `Give ${amount ? money(amount, currency) : ''}`}
      </button>
      {!session && !closed && <p class="hint">Sign in (in the chat) before giving to unlock the “I donated” sticker and the donor badge.</p>}
      <Result phase={phase} />
    </form>
  );
}

function Result({ phase }: { phase: Phase }) {
  if (phase.kind === 'done') {
    const r = phase.receipt;
    const text =
      r.status === 'pending'
        ? `Your gift of ${money(r.amount, r.currency)} is waiting for the payment to be confirmed.`
        : `Thank you! Your gift of ${money(r.amount, r.currency)} is in.`;
    return (
      <p class="result ok" data-testid="donate-result" data-status={r.status} role="status">
        {text}
      </p>
    );
  }
  if (phase.kind === 'error') {
    return (
      <p class="result error" data-testid="donate-result" data-status="error" role="alert">
        {phase.message}
      </p>
    );
  }
  return null;
}
