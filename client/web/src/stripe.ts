// Stripe.js, loaded at run time from Stripe (never bundled or served from
// here, as Stripe requires), and the part of its interface the donation
// form uses.

export interface StripeError {
  type: string;
  code?: string;
  message?: string;
}

export interface StripePaymentElement {
  mount(target: HTMLElement | string): void;
  destroy(): void;
  on(event: 'ready' | 'change' | 'loaderror', handler: (e: unknown) => void): void;
}

export interface StripeElements {
  create(type: 'payment', options?: { layout?: 'tabs' | 'accordion' }): StripePaymentElement;
  update(options: { amount?: number; currency?: string }): void;
  submit(): Promise<{ error?: StripeError }>;
}

export interface StripeInstance {
  elements(options: { mode: 'payment'; amount: number; currency: string; appearance?: { theme?: string } }): StripeElements;
  confirmPayment(options: {
    elements: StripeElements;
    clientSecret: string;
    confirmParams: { return_url: string };
    redirect?: 'always' | 'if_required';
  }): Promise<{ error?: StripeError; paymentIntent?: { id: string; status: string } }>;
}

export type StripeFactory = (publishableKey: string) => StripeInstance;

declare global {
  interface Window {
    Stripe?: StripeFactory;
  }
}

let loading: Promise<StripeFactory> | null = null;

/** Loads Stripe.js from url once per page; a failed load may be retried. */
export function loadStripe(url: string): Promise<StripeFactory> {
  if (window.Stripe) return Promise.resolve(window.Stripe);
  if (!loading) {
    loading = new Promise<StripeFactory>((resolve, reject) => {
      const s = document.createElement('script');
      s.src = url;
      s.async = true;
      s.onload = () => (window.Stripe ? resolve(window.Stripe) : reject(new Error('Stripe.js loaded without Stripe')));
      s.onerror = () => reject(new Error('Stripe.js could not be loaded'));
      document.head.appendChild(s);
    });
    loading.catch(() => (loading = null));
  }
  return loading;
}
