// The donation form. Each gift gets one Idempotency-Key; a retry of the
// same gift — automatic after a network failure, or the person pressing the
// button again — sends the same key, so it is never counted twice. Changing
// the gift makes a new key.
//
// With Stripe, the card (or wallet, or bank) is taken by Stripe's Payment
// Element, loaded from Stripe at run time: the gift is created here first
// (pending, with a PaymentIntent), then confirmed by Stripe.js, with a 3-D
// Secure step or a trip to the bank when the payment method needs one
// (return_url brings the donor back to this page, which picks up where
// they left). The page says "pending" until Stripe's webhook has settled
// the gift on the server: only then is it counted, and thanked.

import { useEffect, useRef, useState } from 'preact/hooks';
import { getDonation, getPaymentConfig, newKey, type PaymentConfig, Problem, type Receipt, sendDonation, type Session } from './api';
import { money, parseAmount } from './format';
import { loadStripe, type StripeElements, type StripeInstance, type StripePaymentElement } from './stripe';

// Preset amounts in minor units: 5, 10, 25, 50 and 100 of a currency with
// cents; 500 to 10,000 of one without (JPY).
const PRESETS = [500, 1000, 2500, 5000, 10000];
const MAX_NAME = 64;
const MAX_MESSAGE = 500;
// How often a pending gift's status is asked for while the page waits for
// the webhook (the room's donation event usually comes first).
const POLL_EVERY = 1500;
// How long the page waits for Stripe's word before it says the gift is
// still pending and points at its receipt.
const WAIT_AT_MOST = 120_000;
// What a gift on its way to a bank remembers across the redirect.
const AWAY = 'givelive.gift';

type Phase =
  | { kind: 'idle' }
  | { kind: 'sending'; attempt: number }
  | { kind: 'paying' } // Stripe.js is confirming, maybe with a 3-D Secure step
  | { kind: 'confirming'; receipt: Receipt; since: number } // paid; waiting for Stripe's webhook
  | { kind: 'done'; receipt: Receipt }
  | { kind: 'error'; message: string };

interface Props {
  fundraiser: string;
  currency: string;
  nonprofit: string;
  session: Session | null;
  closed: boolean;
  /** Ids of the gifts the room has announced, newest first. */
  announced: string[];
  onDonated(r: Receipt, withSession: Session | null): void;
  onSessionExpired(): void;
}

interface Gift {
  amount: number;
  currency: string;
  name: string;
  message: string;
  anonymous: boolean;
}

/** The key of the gift being given, and what it was for. */
interface Attempt {
  key: string;
  gift: string;
  donation?: string; // its id, once the server has it
}

export function DonateForm(props: Props) {
  const { fundraiser, currency, session, closed, announced, onDonated, onSessionExpired } = props;
  const [preset, setPreset] = useState<number | null>(2500);
  const [custom, setCustom] = useState('');
  const [name, setName] = useState(session?.user.name ?? '');
  const [message, setMessage] = useState('');
  const [anonymous, setAnonymous] = useState(false);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [config, setConfig] = useState<PaymentConfig | null>(null);
  const [payment, setPayment] = useState<'loading' | 'ready' | 'failed'>('loading');
  const attempt = useRef<Attempt | null>(null);
  const stripe = useRef<{ stripe: StripeInstance; elements: StripeElements; element: StripePaymentElement } | null>(null);
  const mount = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (session && !name) setName(session.user.name);
  }, [session?.user.name]);

  const typed = preset === null ? parseAmount(custom, currency) : null;
  const amount = preset ?? typed;
  const busy = phase.kind === 'sending' || phase.kind === 'paying';

  // The provider, and with Stripe its Payment Element, once per page.
  useEffect(() => {
    let cancelled = false;
    const load = (tries: number): void => {
      getPaymentConfig().then(
        (c) => {
          if (cancelled) return;
          setConfig(c);
          if (c.provider !== 'stripe') setPayment('ready');
        },
        () => {
          if (!cancelled) setTimeout(() => load(tries + 1), Math.min(20_000, 1000 * 2 ** tries));
        },
      );
    };
    load(0);
    return () => {
      cancelled = true;
    };
  }, []);

  useEffect(() => {
    if (config?.provider !== 'stripe' || closed || !mount.current) return;
    let cancelled = false;
    loadStripe(config.stripe_js_url ?? '').then(
      (Stripe) => {
        if (cancelled || !mount.current) return;
        const s = Stripe(config.publishable_key ?? '');
        const elements = s.elements({
          mode: 'payment',
          amount: Math.max(amount ?? 0, config.min_amount),
          currency: currency.toLowerCase(),
          appearance: { theme: matchMedia('(prefers-color-scheme: dark)').matches ? 'night' : 'stripe' },
        });
        const element = elements.create('payment', { layout: 'tabs' });
        element.on('ready', () => !cancelled && setPayment('ready'));
        element.on('loaderror', () => !cancelled && setPayment('failed'));
        element.mount(mount.current);
        stripe.current = { stripe: s, elements, element };
      },
      () => !cancelled && setPayment('failed'),
    );
    return () => {
      cancelled = true;
      stripe.current?.element.destroy();
      stripe.current = null;
    };
  }, [config, closed]);

  // The Payment Element shows the amount it will confirm: keep it current.
  useEffect(() => {
    if (stripe.current && config && amount !== null && amount >= config.min_amount && amount <= config.max_amount) {
      stripe.current.elements.update({ amount });
    }
  }, [amount, config, payment]);

  // Back from the bank (return_url): pick up the gift where it was left.
  useEffect(() => {
    const q = new URLSearchParams(location.search);
    const donation = q.get('donation');
    if (!donation) return;
    const status = q.get('redirect_status');
    const away = readAway(fundraiser);
    if (away && away.attempt.donation === donation) {
      attempt.current = away.attempt;
      restore(away.gift);
    }
    // The payment's details stay out of the address bar and history.
    q.delete('donation');
    q.delete('payment_intent');
    q.delete('payment_intent_client_secret');
    q.delete('redirect_status');
    const rest = q.toString();
    history.replaceState(history.state, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
    getDonation(fundraiser, donation).then(
      (r) => {
        if (r.status === 'pending' && status === 'failed') {
          setPhase({ kind: 'error', message: 'Your bank did not authorize the payment, so nothing was charged. Choose another way to pay, then press Give.' });
          return;
        }
        settle(r);
      },
      () => setPhase({ kind: 'error', message: 'We could not check your gift just now. Its receipt is at ' + location.origin + '/d/' + donation + '.' }),
    );
  }, [fundraiser]);

  // A paid gift is thanked once the server counts it: when the room
  // announces it, or when asking for it says so.
  useEffect(() => {
    if (phase.kind !== 'confirming') return;
    const r = phase.receipt;
    if (announced.includes(r.id)) {
      settle({ ...r, status: 'succeeded' });
      return;
    }
    const abort = new AbortController();
    const t = setInterval(() => {
      if (Date.now() - phase.since > WAIT_AT_MOST) {
        setPhase({ kind: 'done', receipt: r });
        return;
      }
      getDonation(fundraiser, r.id, abort.signal).then((d) => d.status !== 'pending' && settle(d), () => {});
    }, POLL_EVERY);
    return () => {
      clearInterval(t);
      abort.abort();
    };
  }, [phase, announced.join(',')]);

  function restore(g: Gift) {
    if (PRESETS.includes(g.amount)) {
      setPreset(g.amount);
    } else {
      setPreset(null);
      setCustom(money(g.amount, g.currency).replace(/[^\d.,]/g, ''));
    }
    setName(g.name);
    setMessage(g.message);
    setAnonymous(g.anonymous);
  }

  function settle(r: Receipt) {
    switch (r.status) {
      case 'pending':
        setPhase({ kind: 'confirming', receipt: r, since: Date.now() });
        return;
      case 'failed':
        attempt.current = null;
        clearAway();
        setPhase({ kind: 'error', message: `The payment did not go through${r.failure_reason ? `: ${r.failure_reason}` : ''}. Nothing was charged.` });
        return;
      default:
        attempt.current = null;
        clearAway();
        setPhase({ kind: 'done', receipt: r });
        setMessage('');
        onDonated(r, session);
    }
  }

  const check = (): string | null => {
    if (amount === null) return preset === null && custom.trim() ? `“${custom.trim()}” is not an amount in ${currency}.` : 'Choose an amount.';
    if (config && amount < config.min_amount) return `The minimum gift is ${money(config.min_amount, currency)}.`;
    if (config && amount > config.max_amount) return `The largest gift we can take at once is ${money(config.max_amount, currency)}.`;
    if (amount <= 0) return 'Choose an amount.';
    return null;
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy || !config) return;
    const problem = check();
    if (problem) {
      setPhase({ kind: 'error', message: problem });
      return;
    }
    const s = stripe.current;
    if (config.provider === 'stripe') {
      if (!s) {
        setPhase({ kind: 'error', message: 'The payment form has not loaded. Check your connection and reload the page.' });
        return;
      }
      // Checks the card details before anything is created.
      const { error } = await s.elements.submit();
      if (error) {
        setPhase({ kind: 'error', message: error.message ?? 'Check your payment details.' });
        return;
      }
    }
    const body: Gift = { amount: amount!, currency, name: name.trim(), message: message.trim(), anonymous };
    const token = session?.token ?? null;
    const gift = JSON.stringify([fundraiser, body, token]);
    if (!attempt.current || attempt.current.gift !== gift) attempt.current = { key: newKey(), gift };
    const a = attempt.current;
    setPhase({ kind: 'sending', attempt: 0 });
    let r: Receipt;
    try {
      r = await sendDonation(fundraiser, body, a.key, token, {
        onRetry: (n) => setPhase({ kind: 'sending', attempt: n }),
      });
    } catch (err) {
      if (err instanceof Problem && err.status === 401 && token) {
        attempt.current = null;
        onSessionExpired();
        setPhase({ kind: 'error', message: 'Your session expired. Sign in again, or give without signing in.' });
        return;
      }
      if (err instanceof Problem && err.type.endsWith(':idempotency-key-reused')) attempt.current = null;
      setPhase({ kind: 'error', message: refusal(err, currency) });
      return;
    }
    a.donation = r.id;
    if (r.status !== 'pending' || config.provider !== 'stripe' || !s) {
      settle(r);
      return;
    }
    const secret = r.payment?.client_secret;
    if (!secret) {
      // Nothing left to pay here (a webhook may already be on its way).
      settle(r);
      return;
    }
    // The donor may be sent to their bank and back: remember the gift.
    saveAway(fundraiser, a, body);
    setPhase({ kind: 'paying' });
    const back = new URL(location.href);
    back.search = '';
    back.hash = '';
    back.searchParams.set('donation', r.id);
    const res = await s.stripe.confirmPayment({
      elements: s.elements,
      clientSecret: secret,
      confirmParams: { return_url: back.toString() },
      redirect: 'if_required',
    });
    if (res.error) {
      // The PaymentIntent stays open: pressing Give again retries this same
      // gift with the details now in the form, never a second one.
      clearAway();
      setPhase({ kind: 'error', message: res.error.message ?? 'The payment did not go through. Nothing was charged.' });
      return;
    }
    setPhase({ kind: 'confirming', receipt: r, since: Date.now() });
  };

  const pick = (p: number) => {
    setPreset(p);
    setCustom('');
  };
  const giveLabel = closed
    ? 'This fundraiser has ended'
    : phase.kind === 'sending'
      ? phase.attempt > 0
        ? `Retrying (${phase.attempt})…`
        : 'Giving…'
      : phase.kind === 'paying'
        ? 'Confirming with your bank…'
        : `Give ${amount && amount > 0 ? money(amount, currency) : ''}`.trim();

  return (
    <form class="donate" onSubmit={submit} data-testid="donate-form" data-provider={config?.provider ?? ''} noValidate>
      <h2>Give to {props.nonprofit}</h2>
      <div class="presets" role="group" aria-label="Amount">
        {PRESETS.map((p) => {
          const on = preset === p || (preset === null && typed === p);
          return (
            <button type="button" key={p} class={on ? 'preset selected' : 'preset'} aria-pressed={on} data-testid={`preset-${p}`} onClick={() => pick(p)}>
              {money(p, currency)}
            </button>
          );
        })}
        <input
          class={preset === null && (typed === null || !PRESETS.includes(typed)) ? 'custom selected' : 'custom'}
          inputMode="decimal"
          placeholder="Other"
          aria-label={`Other amount in ${currency}`}
          data-testid="amount"
          value={custom}
          // A click picks "Other"; tabbing through (keyboard) keeps the preset.
          onClick={() => custom === '' && setPreset(null)}
          onInput={(e) => {
            setPreset(null);
            setCustom(e.currentTarget.value);
            if (phase.kind === 'error') setPhase({ kind: 'idle' });
          }}
        />
      </div>
      <label>
        Name
        <input
          value={name}
          maxLength={MAX_NAME}
          disabled={anonymous}
          autoComplete="nickname"
          data-testid="donor-name"
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <label>
        Message <small>{message.length}/{MAX_MESSAGE}</small>
        <textarea value={message} maxLength={MAX_MESSAGE} rows={2} data-testid="donor-message" onInput={(e) => setMessage(e.currentTarget.value)} />
      </label>
      <label class="check">
        <input type="checkbox" checked={anonymous} data-testid="anonymous" onChange={(e) => setAnonymous(e.currentTarget.checked)} />
        Give anonymously
      </label>
      {config?.provider === 'stripe' && !closed && (
        <div class="pay" data-testid="payment-element" data-state={payment}>
          <div ref={mount} />
          {payment === 'loading' && <p class="hint">Loading the secure payment form…</p>}
          {payment === 'failed' && (
            <p class="result error" role="alert">
              The secure payment form could not load. Check your connection, or turn off anything blocking js.stripe.com, then reload the page.
            </p>
          )}
        </div>
      )}
      <button type="submit" class="give" disabled={busy || closed || !config || payment !== 'ready'} data-testid="give">
        {giveLabel}
      </button>
      {config?.provider === 'sandbox' && !closed && <p class="hint">Test mode: no money moves.</p>}
      {!session && !closed && <p class="hint">Sign in (in the chat) before giving to unlock the “I donated” sticker and the donor badge.</p>}
      <Result phase={phase} nonprofit={props.nonprofit} />
    </form>
  );
}

/** A refusal of the server, in the donor's words. */
function refusal(err: unknown, currency: string): string {
  const again = ' Press Give to try again: you will not be charged twice.';
  if (!(err instanceof Problem)) return 'We could not reach GiveLive. Check your connection.' + again;
  const field = err.fields[0]?.field;
  switch (true) {
    case err.status === 400 && field === 'amount':
      return err.detail.startsWith('The request') ? `That amount cannot be given in ${currency}.` : err.detail;
    case err.status === 400 && field === 'name':
      return `Your name can be at most ${MAX_NAME} characters.`;
    case err.status === 400 && field === 'message':
      return `Your message can be at most ${MAX_MESSAGE} characters.`;
    case err.status === 422 && field === 'currency':
      return `This fundraiser takes gifts in ${currency} only.`;
    case err.type.endsWith(':idempotency-key-reused'):
      return 'This gift was already sent with other details. Press Give to send it as a new gift.';
    case err.status === 409:
      return 'This fundraiser has ended and no longer takes gifts.';
    case err.status === 404:
      return 'This fundraiser no longer exists.';
    case err.status === 429:
      return 'Too many tries at once. Wait a moment, then press Give.';
    case err.status === 502:
      return 'The payment service did not answer.' + again;
    case err.status >= 500:
      return 'Something went wrong on our side.' + again;
  }
  return 'This gift could not be given. Check the form and try again.';
}

function Result({ phase, nonprofit }: { phase: Phase; nonprofit: string }) {
  switch (phase.kind) {
    case 'confirming':
      return (
        <p class="result pending" data-testid="donate-result" data-status="pending" role="status">
          Your payment of {money(phase.receipt.amount, phase.receipt.currency)} is on its way. We thank you as soon as Stripe confirms it — this usually
          takes a few seconds.
        </p>
      );
    case 'done': {
      const r = phase.receipt;
      const pending = r.status === 'pending';
      return (
        <div class="result ok" data-testid="donate-result" data-status={r.status} data-donation={r.id} role="status">
          <p>
            {pending
              ? `Your gift of ${money(r.amount, r.currency)} is waiting for the payment to be confirmed.`
              : `Thank you! Your gift of ${money(r.amount, r.currency)} to ${nonprofit} is in.`}
          </p>
          <a href={`/d/${encodeURIComponent(r.id)}`} data-testid="receipt-link">
            See your receipt
          </a>
        </div>
      );
    }
    case 'error':
      return (
        <p class="result error" data-testid="donate-result" data-status="error" role="alert">
          {phase.message}
        </p>
      );
  }
  return null;
}

function saveAway(fundraiser: string, attempt: Attempt, gift: Gift) {
  try {
    sessionStorage.setItem(AWAY, JSON.stringify({ fundraiser, attempt, gift }));
  } catch {
    // Without storage, a donor back from the bank fills the form again.
  }
}

function readAway(fundraiser: string): { attempt: Attempt; gift: Gift } | null {
  try {
    const v = JSON.parse(sessionStorage.getItem(AWAY) ?? 'null');
    return v && v.fundraiser === fundraiser && v.attempt?.key ? v : null;
  } catch {
    return null;
  }
}

function clearAway() {
  try {
    sessionStorage.removeItem(AWAY);
  } catch {
    // Nothing was stored.
  }
}
