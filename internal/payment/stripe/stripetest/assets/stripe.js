// A stand-in of Stripe.js for GiveLive's browser tests, served by package
// stripetest from its own origin, as js.stripe.com serves the real one.
// It offers the part of Stripe.js's interface the donation form uses:
//
//   const stripe = Stripe(publishableKey)
//   const elements = stripe.elements({ mode: 'payment', amount, currency })
//   const payment = elements.create('payment'); payment.mount(el); payment.on('change' | 'ready', fn)
//   elements.update({ amount }); await elements.submit()
//   await stripe.confirmPayment({ elements, clientSecret, confirmParams: { return_url }, redirect: 'if_required' })
//   await stripe.retrievePaymentIntent(clientSecret)
//
// As with the real one, card details live only in a frame of the
// stand-in's origin (the merchant's page never sees them), 3-D Secure is a
// challenge in a frame over the page, and a bank redirect leaves the page
// and comes back to return_url.
(function () {
  'use strict';

  var origin = new URL(document.currentScript.src).origin;
  var frames = 0;

  function integrationError(message) {
    var e = new Error(message);
    e.name = 'IntegrationError';
    return e;
  }

  function Stripe(key) {
    if (!(this instanceof Stripe)) return new Stripe(key);
    if (typeof key !== 'string' || !/^pk_(test|live)_/.test(key)) {
      throw integrationError('Invalid API Key provided: ' + key);
    }
    this._key = key;
  }

  Stripe.prototype.elements = function (options) {
    return new Elements(this, options || {});
  };

  // Elements holds the deferred intent's options and the one element.
  function Elements(stripe, options) {
    if (options.mode && options.mode !== 'payment') throw integrationError('mode must be payment');
    if (options.mode && !(options.amount > 0)) throw integrationError('elements() needs a positive amount in payment mode');
    this._stripe = stripe;
    this._options = Object.assign({}, options);
    this._element = null;
  }

  Elements.prototype.create = function (type, options) {
    if (type !== 'payment') throw integrationError('the stand-in only has the payment element, not ' + type);
    if (this._element) throw integrationError('only one payment element per elements group');
    this._element = new PaymentElement(this, options || {});
    return this._element;
  };

  Elements.prototype.getElement = function (type) {
    return type === 'payment' ? this._element : null;
  };

  Elements.prototype.update = function (options) {
    if (options.amount !== undefined && !(options.amount > 0)) throw integrationError('amount must be positive');
    Object.assign(this._options, options);
    if (this._element) this._element._send({ type: 'update', options: this._options });
  };

  Elements.prototype.submit = function () {
    var el = this._element;
    if (!el || !el._ready) {
      return Promise.resolve({ error: { type: 'validation_error', message: 'The payment form is still loading.' } });
    }
    return el._request({ type: 'submit' }).then(function (r) {
      return r.error ? { error: r.error } : {};
    });
  };

  // PaymentElement is a frame of the stand-in's origin with the inputs.
  function PaymentElement(elements, options) {
    this._elements = elements;
    this._options = options;
    this._handlers = {};
    this._pending = {};
    this._seq = 0;
    this._ready = false;
    this._name = 'stripe-standin-' + ++frames;
    this._onMessage = this._onMessage.bind(this);
  }

  PaymentElement.prototype.mount = function (target) {
    var host = typeof target === 'string' ? document.querySelector(target) : target;
    if (!host) throw integrationError('mount: no element matches ' + target);
    var o = this._elements._options;
    var q = new URLSearchParams({
      key: this._elements._stripe._key,
      parent: window.location.origin,
      name: this._name,
      amount: String(o.amount || ''),
      currency: String(o.currency || ''),
    });
    var frame = document.createElement('iframe');
    frame.name = this._name;
    frame.title = 'Secure payment input frame';
    frame.src = origin + '/elements/payment?' + q.toString();
    frame.setAttribute('allowtransparency', 'true');
    frame.style.border = '0';
    frame.style.width = '100%';
    frame.style.height = '180px';
    frame.style.display = 'block';
    this._frame = frame;
    window.addEventListener('message', this._onMessage);
    host.appendChild(frame);
  };

  PaymentElement.prototype.unmount = PaymentElement.prototype.destroy = function () {
    window.removeEventListener('message', this._onMessage);
    if (this._frame && this._frame.parentNode) this._frame.parentNode.removeChild(this._frame);
    this._frame = null;
    this._ready = false;
    if (this._elements._element === this) this._elements._element = null;
  };

  PaymentElement.prototype.on = function (event, handler) {
    (this._handlers[event] = this._handlers[event] || []).push(handler);
    return this;
  };

  PaymentElement.prototype.focus = function () {
    this._send({ type: 'focus' });
  };

  PaymentElement.prototype._emit = function (event, payload) {
    (this._handlers[event] || []).forEach(function (h) {
      h(payload);
    });
  };

  PaymentElement.prototype._send = function (msg) {
    if (this._frame && this._frame.contentWindow) this._frame.contentWindow.postMessage(msg, origin);
  };

  PaymentElement.prototype._request = function (msg) {
    var self = this;
    return new Promise(function (resolve) {
      var id = ++self._seq;
      self._pending[id] = resolve;
      msg.id = id;
      self._send(msg);
    });
  };

  PaymentElement.prototype._onMessage = function (ev) {
    if (ev.origin !== origin || !this._frame || ev.source !== this._frame.contentWindow) return;
    var m = ev.data || {};
    switch (m.type) {
      case 'ready':
        this._ready = true;
        this._emit('ready', { elementType: 'payment' });
        break;
      case 'change':
        this._emit('change', { elementType: 'payment', complete: m.complete, empty: m.empty, value: { type: m.method } });
        break;
      case 'resize':
        this._frame.style.height = m.height + 'px';
        break;
      case 'reply':
        if (this._pending[m.id]) {
          this._pending[m.id](m);
          delete this._pending[m.id];
        }
        break;
    }
  };

  function intentID(clientSecret) {
    var i = typeof clientSecret === 'string' ? clientSecret.indexOf('_secret_') : -1;
    if (i <= 0) throw integrationError('Invalid value for clientSecret');
    return clientSecret.slice(0, i);
  }

  Stripe.prototype.retrievePaymentIntent = function (clientSecret) {
    var q = new URLSearchParams({ key: this._key, client_secret: clientSecret });
    return fetch(origin + '/v1/payment_intents/' + intentID(clientSecret) + '?' + q.toString())
      .then(function (res) {
        return res.json();
      })
      .then(function (body) {
        return body.error ? { error: body.error } : { paymentIntent: body };
      });
  };

  Stripe.prototype.confirmPayment = function (opts) {
    var self = this;
    opts = opts || {};
    var elements = opts.elements;
    var el = elements && elements._element;
    if (!el) return Promise.reject(integrationError('confirmPayment needs the elements with a mounted payment element'));
    var clientSecret = opts.clientSecret;
    intentID(clientSecret);
    var ret = opts.confirmParams && opts.confirmParams.return_url;
    if (!ret) return Promise.reject(integrationError('confirmParams.return_url is required'));
    var redirect = opts.redirect || 'always';
    var o = elements._options;
    return el
      ._request({ type: 'confirm', clientSecret: clientSecret, returnUrl: ret, amount: o.amount, currency: o.currency })
      .then(function (r) {
        if (r.error) return { error: r.error };
        return self._next(r.paymentIntent, clientSecret, ret, redirect);
      });
  };

  // _next follows the PaymentIntent's next action: a 3-D Secure challenge
  // over the page, or a redirect to the bank (which comes back to
  // return_url); then returns it, or redirects when asked to always.
  Stripe.prototype._next = function (pi, clientSecret, ret, redirect) {
    var self = this;
    if (pi.status === 'requires_action' && pi.next_action) {
      if (pi.next_action.type === 'redirect_to_url') {
        window.location.assign(pi.next_action.redirect_to_url.url);
        return new Promise(function () {});
      }
      return challenge(pi, clientSecret)
        .then(function () {
          return self.retrievePaymentIntent(clientSecret);
        })
        .then(function (r) {
          if (r.error) return r;
          var p = r.paymentIntent;
          if (p.status === 'requires_payment_method' && p.last_payment_error) {
            return { error: Object.assign({ payment_intent: p }, p.last_payment_error) };
          }
          return self._next(p, clientSecret, ret, redirect);
        });
    }
    if (redirect === 'always') {
      var u = new URL(ret);
      u.searchParams.set('payment_intent', pi.id);
      u.searchParams.set('payment_intent_client_secret', clientSecret);
      u.searchParams.set('redirect_status', pi.status === 'succeeded' ? 'succeeded' : 'processing');
      window.location.assign(u.toString());
      return new Promise(function () {});
    }
    return Promise.resolve({ paymentIntent: pi });
  };

  // challenge shows the bank's 3-D Secure page in a frame over the page
  // until the donor completes or fails it there.
  function challenge(pi, clientSecret) {
    return new Promise(function (resolve) {
      var cover = document.createElement('div');
      cover.setAttribute('data-stripe-standin', '3ds');
      cover.style.cssText = 'position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,.5);display:flex;align-items:center;justify-content:center';
      var frame = document.createElement('iframe');
      frame.title = '3D Secure authentication';
      frame.name = 'stripe-standin-3ds';
      frame.style.cssText = 'width:min(400px,95vw);height:420px;border:0;background:#fff;border-radius:8px';
      var q = new URLSearchParams({ client_secret: clientSecret, parent: window.location.origin });
      frame.src = origin + '/3ds/' + pi.id + '?' + q.toString();
      cover.appendChild(frame);
      document.body.appendChild(cover);
      function done(ev) {
        if (ev.origin !== origin || ev.source !== frame.contentWindow || !ev.data || ev.data.type !== '3ds-done') return;
        window.removeEventListener('message', done);
        document.body.removeChild(cover);
        resolve();
      }
      window.addEventListener('message', done);
    });
  }

  window.Stripe = Stripe;
})();
