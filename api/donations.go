package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/donation"
	"github.com/givelive/givelive/internal/store"
)

const (
	// recentDonations and topDonors size the snapshot's lists.
	recentDonations = 20
	topDonors       = 10
	// defaultDonationPage is GET .../donations's page without limit.
	defaultDonationPage = 50
)

// CreateDonation records a donation and collects it. A retry with the same
// idempotency key and body answers 200 with the same donation.
func (h *handlers) CreateDonation(ctx context.Context, req CreateDonationRequestObject) (CreateDonationResponseObject, error) {
	body := req.Body
	r := donation.Request{
		FundraiserID:   req.Id,
		IdempotencyKey: req.Params.IdempotencyKey,
		Amount:         body.Amount,
		Currency:       string(body.Currency),
		Name:           deref(body.Name),
		Message:        deref(body.Message),
		Anonymous:      body.Anonymous != nil && *body.Anonymous,
	}
	if p := auth.FromContext(ctx); p.Kind == auth.Viewer {
		r.UserID = p.ID
		if body.Name == nil && !r.Anonymous {
			r.Name = p.Name // a signed-in viewer gives under their chat name
		}
	}
	res, err := h.donations.Donate(ctx, r)
	if err != nil {
		return nil, donationProblem(err)
	}
	receipt := receiptOut(res.Donation, h.donations.ProviderName())
	if !res.Created {
		replayed := "true"
		return CreateDonation200JSONResponse{Body: receipt, Headers: CreateDonation200ResponseHeaders{IdempotentReplayed: &replayed}}, nil
	}
	return CreateDonation201JSONResponse(receipt), nil
}

// donationProblem answers the money path's refusals.
func donationProblem(err error) error {
	var fe *donation.FieldError
	var pe *donation.ProviderError
	switch {
	case errors.As(err, &fe) && fe.Unprocessable:
		return unprocessable(fe.Field, fe.Message)
	case errors.As(err, &fe):
		detail := fe.Detail
		if detail == "" {
			detail = "The request is not valid. " + fe.Field + ": " + fe.Message + "."
		}
		return &problem{
			status: http.StatusBadRequest, typ: typeValidation, detail: detail,
			fields: []FieldError{{Field: fe.Field, Message: fe.Message}},
		}
	case errors.Is(err, donation.ErrKeyReused):
		return &problem{status: http.StatusConflict, typ: typeIdempotency,
			detail: "This Idempotency-Key was already used for a different donation; use a new key for a new donation."}
	case errors.Is(err, store.ErrEnded):
		return &problem{status: http.StatusConflict, detail: "This fundraiser has ended and no longer takes donations.", cause: err}
	case errors.Is(err, store.ErrNotFound):
		return notFound("fundraiser")
	case errors.As(err, &pe):
		return &problem{status: http.StatusBadGateway, typ: typeProvider,
			detail: "The payment service did not answer. Try again: you will not be charged twice.",
			cause:  err}
	}
	return err
}

// ListDonations pages through a fundraiser's donations for its owner.
func (h *handlers) ListDonations(ctx context.Context, req ListDonationsRequestObject) (ListDonationsResponseObject, error) {
	limit := defaultDonationPage
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	filter := store.DonationFilter{FundraiserID: req.Id, Before: deref(req.Params.Before), Limit: limit + 1}
	if req.Params.Status != nil {
		filter.Status = string(*req.Params.Status)
	}
	ds, err := h.store.ListDonations(ctx, filter)
	if err != nil {
		return nil, err
	}
	page := DonationPage{Items: make([]DonationRecord, 0, min(len(ds), limit))}
	for i, d := range ds {
		if i == limit {
			next := ds[i-1].ID
			page.Next = &next
			break
		}
		page.Items = append(page.Items, recordOut(d))
	}
	return ListDonations200JSONResponse(page), nil
}

// GetDonation shows one donation's public view, for a donor waiting on a
// pending payment.
func (h *handlers) GetDonation(ctx context.Context, req GetDonationRequestObject) (GetDonationResponseObject, error) {
	d, err := h.donations.Donation(ctx, req.Id, req.DonationId)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("donation to this fundraiser")
	}
	if err != nil {
		return nil, err
	}
	return GetDonation200JSONResponse(recordOut(d)), nil
}

// RefundDonation refunds a succeeded donation in full (admin).
func (h *handlers) RefundDonation(ctx context.Context, req RefundDonationRequestObject) (RefundDonationResponseObject, error) {
	d, err := h.donations.Refund(ctx, req.Id, req.DonationId)
	if err != nil {
		return nil, donationActionProblem(err)
	}
	return RefundDonation200JSONResponse(recordOut(d)), nil
}

// HideDonationMessage blanks a donation's message for everyone.
func (h *handlers) HideDonationMessage(ctx context.Context, req HideDonationMessageRequestObject) (HideDonationMessageResponseObject, error) {
	d, err := h.donations.HideMessage(ctx, req.Id, req.DonationId)
	if err != nil {
		return nil, donationActionProblem(err)
	}
	return HideDonationMessage200JSONResponse(recordOut(d)), nil
}

// UnhideDonationMessage shows a hidden message again.
func (h *handlers) UnhideDonationMessage(ctx context.Context, req UnhideDonationMessageRequestObject) (UnhideDonationMessageResponseObject, error) {
	d, err := h.donations.UnhideMessage(ctx, req.Id, req.DonationId)
	if err != nil {
		return nil, donationActionProblem(err)
	}
	return UnhideDonationMessage200JSONResponse(recordOut(d)), nil
}

// donationActionProblem answers refusals of actions on one donation.
func donationActionProblem(err error) error {
	var pe *donation.ProviderError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("donation to this fundraiser")
	case errors.Is(err, store.ErrConflict):
		return &problem{status: http.StatusConflict, detail: conflictDetail(err), cause: err}
	case errors.As(err, &pe):
		return &problem{status: http.StatusBadGateway, typ: typeProvider,
			detail: "The payment provider could not do this right now; try again.", cause: err}
	}
	return donationProblem(err)
}

// conflictDetail shows the reason the service gave after "conflict: ".
func conflictDetail(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, store.ErrConflict.Error()+": "); i >= 0 {
		msg = msg[i+len(store.ErrConflict.Error())+2:]
		return strings.ToUpper(msg[:1]) + msg[1:] + "."
	}
	return "The request contradicts the record's current state."
}

// receiptOut is what the donor gets back: the record and how to pay.
func receiptOut(d store.Donation, provider string) DonationReceipt {
	r := recordOut(d)
	pay := PaymentInfo{Provider: d.Provider}
	if pay.Provider == "" {
		pay.Provider = provider
	}
	if d.Status == store.DonationPending && d.ClientSecret != "" {
		secret := d.ClientSecret
		pay.ClientSecret = &secret
	}
	return DonationReceipt{
		Id: r.Id, FundraiserId: r.FundraiserId, Status: r.Status, Name: r.Name,
		Amount: r.Amount, Currency: r.Currency, Message: r.Message, Anonymous: r.Anonymous,
		FailureReason: r.FailureReason, CreatedAt: r.CreatedAt, SettledAt: r.SettledAt,
		RefundedAt: r.RefundedAt, Payment: pay,
	}
}

// recordOut is a donation as its donor, owner and admins see it: never the
// real name of an anonymous donor, the message as viewers see it.
func recordOut(d store.Donation) DonationRecord {
	r := DonationRecord{
		Id:           d.ID,
		FundraiserId: d.FundraiserID,
		Status:       DonationStatus(d.Status),
		Name:         d.PublicName(),
		Amount:       d.Amount,
		Currency:     d.Currency,
		Message:      d.PublicMessage,
		Anonymous:    d.Anonymous,
		CreatedAt:    d.CreatedAt.UTC(),
		SettledAt:    timePtr(d.SettledAt),
		RefundedAt:   timePtr(d.RefundedAt),
	}
	if d.MessageHidden {
		r.MessageHidden = &d.MessageHidden
	}
	if d.FailureReason != "" {
		reason := d.FailureReason
		r.FailureReason = &reason
	}
	return r
}

// donationOut is a donation in the snapshot's public list.
func donationOut(d store.Donation) Donation {
	at := d.SettledAt
	if at.IsZero() {
		at = d.CreatedAt
	}
	return Donation{Id: d.ID, Name: d.PublicName(), Amount: d.Amount, Currency: d.Currency, Message: d.PublicMessage, CreatedAt: at.UTC()}
}

func deref[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// GetReceipt shows a donation's receipt to whoever has its id: the public
// view of the donation, where it went, and whether it went there directly.
func (h *handlers) GetReceipt(ctx context.Context, req GetReceiptRequestObject) (GetReceiptResponseObject, error) {
	d, err := h.store.GetDonation(ctx, req.Id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("donation")
	}
	if err != nil {
		return nil, err
	}
	f, err := h.store.GetFundraiser(ctx, d.FundraiserID)
	if err != nil {
		return nil, err
	}
	np, err := h.store.GetNonprofit(ctx, f.NonprofitID)
	if err != nil {
		return nil, err
	}
	b, err := h.store.GetBroadcaster(ctx, f.BroadcasterID)
	if err != nil {
		return nil, err
	}
	r := Receipt{Donation: recordOut(d), Direct: d.Destination != ""}
	r.Fundraiser.Id, r.Fundraiser.Title, r.Fundraiser.Status = f.ID, f.Title, FundraiserStatus(f.Status)
	r.Fundraiser.Broadcaster = BroadcasterRef{Id: b.ID, Name: b.Name}
	r.Nonprofit.Id, r.Nonprofit.Name, r.Nonprofit.Country = np.ID, np.Name, np.Country
	r.Nonprofit.RegistrationId = np.RegistrationID
	return GetReceipt200JSONResponse(r), nil
}

// GetPaymentConfig tells the donation form how money is collected here.
func (h *handlers) GetPaymentConfig(context.Context, GetPaymentConfigRequestObject) (GetPaymentConfigResponseObject, error) {
	lo, hi := h.donations.Limits()
	c := PaymentConfig{Provider: PaymentConfigProvider(h.donations.ProviderName()), MinAmount: lo, MaxAmount: hi}
	if c.Provider == PaymentConfigProviderStripe {
		c.PublishableKey = &h.payments.PublishableKey
		c.StripeJsUrl = &h.payments.StripeJSURL
	}
	return GetPaymentConfig200JSONResponse(c), nil
}
