// A donation's receipt, /d/{id}: the amount, the nonprofit and its
// registration, the fundraiser, the date and the status, and a link to
// share. Anyone with the link sees the same page, which only ever shows
// the donor's public name ("Anonymous" for an anonymous gift).

import { useEffect, useState } from 'preact/hooks';
import { describe, type DonationReceipt, getReceipt, Problem } from './api';
import { money } from './format';

// How often a pending gift's receipt is read again, until it settles.
const REFRESH = 2000;

export function ReceiptPage({ id }: { id: string }) {
  const [receipt, setReceipt] = useState<DonationReceipt | null>(null);
  const [error, setError] = useState<{ message: string; missing: boolean } | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let tries = 0;
    const load = () => {
      getReceipt(id, abort.signal).then(
        (r) => {
          setError(null);
          setReceipt(r);
          if (r.donation.status === 'pending') timer = setTimeout(load, REFRESH);
        },
        (err) => {
          if (abort.signal.aborted) return;
          const missing = err instanceof Problem && (err.status === 404 || err.status === 400);
          setError({ message: missing ? 'There is no gift with this receipt number.' : describe(err), missing });
          if (!missing) timer = setTimeout(load, Math.min(20_000, 1000 * 2 ** tries++));
        },
      );
    };
    load();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [id]);

  useEffect(() => {
    document.title = receipt ? `Receipt: ${money(receipt.donation.amount, receipt.donation.currency)} to ${receipt.nonprofit.name} · GiveLive` : 'Receipt · GiveLive';
  }, [receipt]);

  if (!receipt) {
    return (
      <div class="page center">
        {error ? (
          <div class="card" data-testid="receipt-error">
            <p>{error.message}</p>
            {error.missing ? <a href="/">See who is live</a> : <p class="hint">Trying again…</p>}
          </div>
        ) : (
          <p class="hint">Loading…</p>
        )}
      </div>
    );
  }

  const d = receipt.donation;
  const f = receipt.fundraiser;
  const np = receipt.nonprofit;
  const amount = money(d.amount, d.currency);
  const when = new Date(d.settled_at ?? d.created_at ?? Date.now());
  return (
    <div class="page center">
      <article class="card receipt" data-testid="receipt" data-status={d.status}>
        <p class="brand">GiveLive</p>
        <h1>{headline(receipt)}</h1>
        <p class="receipt-amount" data-testid="receipt-amount">
          {amount}
        </p>
        <dl>
          <dt>To</dt>
          <dd data-testid="receipt-nonprofit">
            {np.name}
            <br />
            <small>
              Registered charity {np.registration_id} ({np.country})
            </small>
          </dd>
          <dt>From</dt>
          <dd data-testid="receipt-donor">{d.anonymous ? 'Anonymous' : d.name}</dd>
          <dt>During</dt>
          <dd>
            <a href={`/f/${encodeURIComponent(f.id)}`}>{f.title}</a>, {f.broadcaster.name}’s live fundraiser
          </dd>
          <dt>Date</dt>
          <dd>
            <time dateTime={when.toISOString()}>{when.toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' })}</time>
          </dd>
          <dt>Status</dt>
          <dd data-testid="receipt-status">{statusText(receipt)}</dd>
          <dt>Receipt number</dt>
          <dd>
            <code>{d.id}</code>
          </dd>
        </dl>
        {d.message && <blockquote class="message">{d.message}</blockquote>}
        {d.status === 'succeeded' && <Share receipt={receipt} />}
        <p>
          <a href={`/f/${encodeURIComponent(f.id)}`}>{f.status === 'ended' ? 'See the fundraiser' : 'Back to the live stream'}</a>
        </p>
      </article>
    </div>
  );
}

function headline(r: DonationReceipt): string {
  const who = r.donation.anonymous ? 'An anonymous donor' : r.donation.name;
  switch (r.donation.status) {
    case 'succeeded':
      return `${who} gave to ${r.nonprofit.name}`;
    case 'pending':
      return `A gift to ${r.nonprofit.name} is on its way`;
    case 'failed':
      return `A gift to ${r.nonprofit.name} did not go through`;
    default:
      return `A gift to ${r.nonprofit.name} was refunded`;
  }
}

function statusText(r: DonationReceipt): string {
  const d = r.donation;
  switch (d.status) {
    case 'succeeded':
      return r.direct ? `Received, paid straight to ${r.nonprofit.name}.` : `Received. GiveLive passes it on to ${r.nonprofit.name}.`;
    case 'pending':
      return 'Waiting for the payment to be confirmed. This page updates by itself.';
    case 'failed':
      return `Not completed${d.failure_reason ? ` (${d.failure_reason})` : ''}. Nothing was charged.`;
    default:
      return `Refunded${d.refunded_at ? ` on ${new Date(d.refunded_at).toLocaleDateString(undefined, { dateStyle: 'long' })}` : ''}.`;
  }
}

/** Share: the system's share sheet where there is one, else a copied link. */
function Share({ receipt }: { receipt: DonationReceipt }) {
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  const url = location.origin + location.pathname;
  const text = `I gave to ${receipt.nonprofit.name} during ${receipt.fundraiser.broadcaster.name}’s live fundraiser “${receipt.fundraiser.title}”. Join in!`;
  const share = async () => {
    if (typeof navigator.share === 'function') {
      try {
        await navigator.share({ title: `I gave to ${receipt.nonprofit.name}`, text, url });
        return;
      } catch (err) {
        if (err instanceof Error && err.name === 'AbortError') return;
      }
    }
    try {
      await navigator.clipboard.writeText(`${text} ${url}`);
      setCopied('copied');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <div class="share" data-testid="share">
      <button type="button" onClick={share} data-testid="share-button">
        Share “I gave to {receipt.nonprofit.name}”
      </button>
      <input readOnly value={url} aria-label="Link to this receipt" data-testid="share-url" onFocus={(e) => e.currentTarget.select()} />
      {copied === 'copied' && (
        <p class="hint" role="status">
          Link copied.
        </p>
      )}
      {copied === 'failed' && (
        <p class="hint" role="status">
          Copy the link above to share it.
        </p>
      )}
    </div>
  );
}
