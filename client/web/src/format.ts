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
 * Reads an amount a person typed ("25", "25.5", "25,50") as minor units,
 * without floating point; null if it is not one.
 */
export function parseAmount(input: string, currency: string): number | null {
  const m = /^\s*(\d{1,9})(?:[.,](\d*))?\s*$/.exec(input);
  if (!m) return null;
  const exp = exponent(currency);
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > exp) return null;
  return Number(m[1]) * 10 ** exp + Number(frac.padEnd(exp, '0') || '0');
}

/** The share of goal that raised is, in percent, from 0 to 100. */
export function percent(raised: number, goal: number): number {
  if (goal <= 0) return 0;
  return Math.min(100, Math.max(0, (raised / goal) * 100));
}
