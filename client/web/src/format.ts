// Money in minor units, as the API counts it, shown and read in the
// viewer's locale.

const formats = new Map<string, Intl.NumberFormat>();

function format(currency: string): Intl.NumberFormat {
  let f = formats.get(currency);
  if (!f) {
    f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    formats.set(currency, f);
  }
  return f;
}

/** Digits after the decimal point in currency (2 for USD, 0 for JPY). */
export function exponent(currency: string): number {
  return format(currency).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Formats an amount of minor units: money(2500, 'USD') is "$25.00" in en-US. */
export function money(minor: number, currency: string): string {
  return format(currency).format(minor / 10 ** exponent(currency));
}

/**
 * Reads an amount as people type it, as minor units without floating
 * point: "20", "$20", "20.50", "20,50 €", "1,000", "1.000,50", "¥500".
 * A currency sign or code around the number is ignored. The last "." or
 * "," is the decimal point when one or two digits follow it (as many as
 * the currency has); other separators, and spaces, group thousands.
 * Returns null when the input is not an amount of this currency.
 */
export function parseAmount(input: string, currency: string): number | null {
  // Signs and codes around the number, and spaces inside it (1 000, 1 000).
  const s = input
    .trim()
    .replace(/^[^\d.,-]+|[^\d.,]+$/g, '')
    .replace(/[\s\u00a0\u202f']/g, '');
  if (!/^\d[\d.,]*$/.test(s)) return null;
  const exp = exponent(currency);
  const last = Math.max(s.lastIndexOf('.'), s.lastIndexOf(','));
  let whole = s;
  let frac = '';
  if (last >= 0) {
    const after = s.length - last - 1;
    if (after !== 3 || exp >= 3) {
      // A decimal point: "20.5", "20,50", "20." (nothing after it).
      whole = s.slice(0, last);
      frac = s.slice(last + 1);
      if (frac.length > exp || /[.,]/.test(frac)) return null;
    }
  }
  // What is left of the separators groups thousands: groups of three.
  const groups = whole.split(/[.,]/);
  if (groups.length > 1 && groups.slice(1).some((g) => g.length !== 3)) return null;
  whole = groups.join('');
  if (whole.length === 0 || whole.length > 12) return null;
  return Number(whole) * 10 ** exp + Number(frac.padEnd(exp, '0') || '0');
}

/** The share of goal that raised is, in percent, from 0 to 100. */
export function percent(raised: number, goal: number): number {
  if (goal <= 0) return 0;
  return Math.min(100, Math.max(0, (raised / goal) * 100));
}
