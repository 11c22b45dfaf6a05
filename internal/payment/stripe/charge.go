package stripe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	stripeapi "github.com/stripe/stripe-go/v85"

	"github.com/givelive/givelive/internal/payment"
)

// Metadata keys set on every PaymentIntent, read back from webhook events.
const (
	metaDonationID   = "donation_id"
	metaFundraiserID = "fundraiser_id"
)

// Charge creates a PaymentIntent for the donation and answers Pending with
// its client secret, for the payer's browser to confirm. The idempotency key
// "donation-<DonationID>" makes a repeated call return the same
// PaymentIntent. A card error is a Failed charge; any other error means the
// outcome is unknown and the call may be retried.
func (p *Provider) Charge(ctx context.Context, r payment.Request) (payment.Charge, error) {
	if r.DonationID == "" {
		return payment.Charge{}, errors.New("stripe: charge without a donation id (needed as idempotency key)")
	}
	params := &stripeapi.PaymentIntentCreateParams{
		Amount:   stripeapi.Int64(r.Amount),
		Currency: stripeapi.String(strings.ToLower(r.Currency)),
		AutomaticPaymentMethods: &stripeapi.PaymentIntentCreateAutomaticPaymentMethodsParams{
			Enabled: stripeapi.Bool(true),
		},
	}
	if r.Description != "" {
		params.Description = stripeapi.String(r.Description)
	}
	if r.Destination != "" {
		// A destination charge: the nonprofit's connected account receives
		// the money; the platform only carries the payment.
		params.TransferData = &stripeapi.PaymentIntentCreateTransferDataParams{
			Destination: stripeapi.String(r.Destination),
		}
	}
	params.AddMetadata(metaDonationID, r.DonationID)
	if r.FundraiserID != "" {
		params.AddMetadata(metaFundraiserID, r.FundraiserID)
	}
	params.SetIdempotencyKey("donation-" + r.DonationID)

	pi, err := p.client.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		if c, ok := cardFailure(err); ok {
			return c, nil
		}
		return payment.Charge{}, fmt.Errorf("failed to create stripe payment intent for donation %s: %w", r.DonationID, loggable(err))
	}
	if pi.ID == "" {
		return payment.Charge{}, fmt.Errorf("failed to create stripe payment intent for donation %s: response without id", r.DonationID)
	}
	switch pi.Status {
	case stripeapi.PaymentIntentStatusSucceeded:
		return payment.Charge{Status: payment.Succeeded, Ref: pi.ID}, nil
	case stripeapi.PaymentIntentStatusCanceled:
		return payment.Charge{Status: payment.Failed, Ref: pi.ID, FailureReason: reasonCanceled}, nil
	}
	return payment.Charge{Status: payment.Pending, Ref: pi.ID, ClientSecret: pi.ClientSecret}, nil
}

// cardFailure turns a Stripe card error (HTTP 402, type card_error) into a
// Failed charge: the card was declined, and asking again will not help.
func cardFailure(err error) (payment.Charge, bool) {
	var se *stripeapi.Error
	if !errors.As(err, &se) || se.Type != stripeapi.ErrorTypeCard {
		return payment.Charge{}, false
	}
	c := payment.Charge{Status: payment.Failed, FailureReason: shortReason(se.Msg, "card declined")}
	if se.PaymentIntent != nil {
		c.Ref = se.PaymentIntent.ID
	}
	return c, true
}

// Refund refunds the PaymentIntent ref in full, with the idempotency key
// "refund-<donationID>". A payment that is already refunded in full (say,
// from the dashboard) counts as refunded.
func (p *Provider) Refund(ctx context.Context, donationID, ref string) error {
	if donationID == "" || ref == "" {
		return errors.New("stripe: refund needs a donation id and a payment intent id")
	}
	params := &stripeapi.RefundCreateParams{PaymentIntent: stripeapi.String(ref)}
	params.AddMetadata(metaDonationID, donationID)
	params.SetIdempotencyKey("refund-" + donationID)

	re, err := p.client.V1Refunds.Create(ctx, params)
	if err != nil {
		var se *stripeapi.Error
		if errors.As(err, &se) && se.Code == stripeapi.ErrorCodeChargeAlreadyRefunded {
			return nil
		}
		return fmt.Errorf("failed to refund stripe payment %s of donation %s: %w", ref, donationID, loggable(err))
	}
	switch re.Status {
	case stripeapi.RefundStatusFailed, stripeapi.RefundStatusCanceled:
		return fmt.Errorf("failed to refund stripe payment %s of donation %s: refund %s is %s (%s)",
			ref, donationID, re.ID, re.Status, re.FailureReason)
	}
	return nil
}

// loggable keeps stripe-go's API errors out of log lines as they are:
// their Error() is the whole JSON error, which may include a PaymentIntent
// with its client secret. The original stays reachable with errors.As.
func loggable(err error) error {
	var se *stripeapi.Error
	if !errors.As(err, &se) {
		return err // network errors, context errors: nothing secret
	}
	return apiError{se}
}

// apiError is an error from Stripe's API, described by its status, type,
// code, message and request id.
type apiError struct{ se *stripeapi.Error }

func (e apiError) Error() string {
	s := fmt.Sprintf("stripe API %d %s", e.se.HTTPStatusCode, e.se.Type)
	if e.se.Code != "" {
		s += " " + string(e.se.Code)
	}
	if e.se.Msg != "" {
		s += ": " + e.se.Msg
	}
	if e.se.RequestID != "" {
		s += " (request " + e.se.RequestID + ")"
	}
	return s
}

func (e apiError) Unwrap() error { return e.se }

// CheckAccount looks up a Stripe Connect account and answers whether
// destination charges can send it money: it must exist, be connected to
// this platform, and have the transfers capability active.
func (p *Provider) CheckAccount(ctx context.Context, account string) error {
	a, err := p.client.V1Accounts.GetByID(ctx, account, nil)
	if err != nil {
		var se *stripeapi.Error
		if errors.As(err, &se) && (se.HTTPStatusCode == 404 || se.HTTPStatusCode == 403 ||
			se.Code == stripeapi.ErrorCodeResourceMissing || se.Code == stripeapi.ErrorCodeAccountInvalid) {
			return fmt.Errorf("%w: Stripe knows no account %s connected to this platform", payment.ErrAccountUnusable, account)
		}
		return fmt.Errorf("failed to look up stripe account %s: %w", account, loggable(err))
	}
	if a.Capabilities == nil || a.Capabilities.Transfers != stripeapi.AccountCapabilityStatusActive {
		return fmt.Errorf("%w: the Stripe account %s cannot receive transfers yet; finish its onboarding first",
			payment.ErrAccountUnusable, account)
	}
	return nil
}
