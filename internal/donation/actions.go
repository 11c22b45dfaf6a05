package donation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/money"
	"github.com/givelive/givelive/internal/payment"
	"github.com/givelive/givelive/internal/store"
)

// ApplyEvent applies a payment provider's webhook event. Events about
// payments GiveLive does not know, events it does not act on and events
// already applied change nothing and are not errors, so the provider stops
// resending them.
func (s *Service) ApplyEvent(ctx context.Context, provider string, ev payment.Event) error {
	if ev.Kind == payment.EventIgnored {
		return nil
	}
	d, err := s.eventDonation(ctx, provider, ev)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Info("payment event for no known donation", "provider", provider, "event", ev.ID, "type", ev.Type)
		return nil
	}
	if err != nil {
		return err
	}
	if ev.Kind == payment.EventRefunded && d.Status == store.DonationPending {
		// Providers do not promise order: this refund overtook the
		// payment's success. Refusing it makes the provider deliver it
		// again, after the success; dropping it would count refunded
		// money once the success arrives.
		return fmt.Errorf("refund event %s for donation %s arrived before its payment succeeded; the provider will deliver it again", ev.ID, d.ID)
	}
	pe := &store.ProviderEvent{Provider: provider, ID: ev.ID}
	var changed bool
	switch ev.Kind {
	case payment.EventSucceeded:
		d, changed, err = s.cfg.Store.SettleDonation(ctx, d.ID, store.DonationSucceeded, "", pe)
	case payment.EventFailed:
		d, changed, err = s.cfg.Store.SettleDonation(ctx, d.ID, store.DonationFailed, ev.FailureReason, pe)
	case payment.EventRefunded:
		d, changed, err = s.cfg.Store.RefundDonation(ctx, d.ID, pe)
	default:
		return fmt.Errorf("payment event %s has unknown kind %q", ev.ID, ev.Kind)
	}
	switch {
	case errors.Is(err, store.ErrDuplicateEvent):
		return nil
	case errors.Is(err, store.ErrConflict):
		// Such as a refund of a payment that never succeeded here.
		s.log.Warn("payment event does not fit the donation", "provider", provider, "event", ev.ID,
			"type", ev.Type, "donation", d.ID, "status", d.Status)
		return nil
	case err != nil:
		return err
	}
	if changed {
		s.settled(d)
	}
	return nil
}

// eventDonation finds the donation an event is about: by payment id, or by
// the donation id the payment carries when the payment id was never
// recorded (a crash between the provider's answer and the ledger write).
func (s *Service) eventDonation(ctx context.Context, provider string, ev payment.Event) (store.Donation, error) {
	d, err := s.cfg.Store.DonationByProviderRef(ctx, provider, ev.Ref)
	if !errors.Is(err, store.ErrNotFound) || ev.DonationID == "" {
		return d, err
	}
	d, err = s.cfg.Store.GetDonation(ctx, ev.DonationID)
	if err != nil {
		return d, err
	}
	if d.Provider != provider || (d.ProviderRef != "" && d.ProviderRef != ev.Ref) {
		return store.Donation{}, store.ErrNotFound
	}
	if d.ProviderRef == "" && ev.Ref != "" && d.Status == store.DonationPending {
		return s.cfg.Store.SetDonationPayment(ctx, d.ID, ev.Ref, "")
	}
	return d, nil
}

// Donation returns a fundraiser's donation; store.ErrNotFound when the
// donation belongs to another fundraiser.
func (s *Service) Donation(ctx context.Context, fundraiserID, donationID string) (store.Donation, error) {
	d, err := s.cfg.Store.GetDonation(ctx, donationID)
	if err != nil {
		return d, err
	}
	if d.FundraiserID != fundraiserID {
		return store.Donation{}, store.ErrNotFound
	}
	return d, nil
}

// Refund returns a succeeded donation's money through its provider and
// takes it off the totals. Refunding a refunded donation returns it; one
// that did not succeed is store.ErrConflict.
func (s *Service) Refund(ctx context.Context, fundraiserID, donationID string) (store.Donation, error) {
	d, err := s.Donation(ctx, fundraiserID, donationID)
	if err != nil {
		return d, err
	}
	switch d.Status {
	case store.DonationRefunded:
		return d, nil
	case store.DonationSucceeded:
	default:
		return d, fmt.Errorf("%w: only a succeeded donation can be refunded; this one is %s", store.ErrConflict, d.Status)
	}
	if d.Provider != s.cfg.Provider.Name() {
		return d, fmt.Errorf("%w: this donation was paid through %s, which this server is not configured for", store.ErrConflict, d.Provider)
	}
	if err := s.cfg.Provider.Refund(ctx, d.ID, d.ProviderRef); err != nil {
		return d, &ProviderError{Donation: d, Err: err}
	}
	d, changed, err := s.cfg.Store.RefundDonation(ctx, d.ID, nil)
	if err != nil {
		return d, err
	}
	if changed {
		s.settled(d)
	}
	return d, nil
}

// UnhideMessage shows a hidden message again, moderated as when it was
// given (word filter, minimum amount).
func (s *Service) UnhideMessage(ctx context.Context, fundraiserID, donationID string) (store.Donation, error) {
	d, err := s.Donation(ctx, fundraiserID, donationID)
	if err != nil {
		return store.Donation{}, err
	}
	d, err = s.cfg.Store.UnhideDonationMessage(ctx, donationID, s.publicMessage(d.Amount, d.Message))
	if err != nil {
		return d, err
	}
	s.cfg.Notify()
	return d, nil
}

// HideMessage hides a donation's message from everyone until the owner
// shows it again (UnhideMessage).
func (s *Service) HideMessage(ctx context.Context, fundraiserID, donationID string) (store.Donation, error) {
	if _, err := s.Donation(ctx, fundraiserID, donationID); err != nil {
		return store.Donation{}, err
	}
	d, err := s.cfg.Store.HideDonationMessage(ctx, donationID)
	if err != nil {
		return d, err
	}
	s.cfg.Notify()
	return d, nil
}

// Shoutout announces the broadcaster's thanks for a succeeded donation.
func (s *Service) Shoutout(ctx context.Context, fundraiserID, donationID, text string) (wire.ShoutoutData, error) {
	d, err := s.Donation(ctx, fundraiserID, donationID)
	if errors.Is(err, store.ErrNotFound) {
		return wire.ShoutoutData{}, &FieldError{Field: "donation_id", Unprocessable: true, Message: "no donation to this fundraiser has this id"}
	}
	if err != nil {
		return wire.ShoutoutData{}, err
	}
	if d.Status != store.DonationSucceeded {
		return wire.ShoutoutData{}, &FieldError{Field: "donation_id", Unprocessable: true,
			Message: fmt.Sprintf("only a succeeded donation can be shouted out; this one is %s", d.Status)}
	}
	clean, ok := cleanText(text)
	switch {
	case !ok:
		return wire.ShoutoutData{}, &FieldError{Field: "text", Message: "must be valid UTF-8"}
	case clean == "":
		return wire.ShoutoutData{}, &FieldError{Field: "text", Message: "must not be blank"}
	case utf8.RuneCountInString(clean) > MaxShoutoutRunes:
		return wire.ShoutoutData{}, &FieldError{Field: "text", Message: fmt.Sprintf("must be at most %d characters long", MaxShoutoutRunes)}
	}
	data := wire.ShoutoutData{DonationID: d.ID, Text: clean}
	return data, s.enqueue(ctx, fundraiserID, wire.TypeShoutout, data)
}

// DeleteChat tells every viewer to remove a chat message.
func (s *Service) DeleteChat(ctx context.Context, fundraiserID, messageID string) error {
	if _, err := s.cfg.Store.GetFundraiser(ctx, fundraiserID); err != nil {
		return err
	}
	return s.enqueue(ctx, fundraiserID, wire.TypeChatDeleted, wire.ChatDeletedData{ID: messageID})
}

func (s *Service) enqueue(ctx context.Context, room, typ string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.Enqueue(ctx, room, typ, raw); err != nil {
		return err
	}
	s.cfg.Notify()
	return nil
}

// RaiseGoal sets a higher goal in the fundraiser's currency.
func (s *Service) RaiseGoal(ctx context.Context, fundraiserID string, goal wire.Money) (store.Fundraiser, error) {
	f, err := s.cfg.Store.GetFundraiser(ctx, fundraiserID)
	if err != nil {
		return f, err
	}
	if goal.Currency != f.Currency {
		return f, fmt.Errorf("%w: the goal must stay in %s, the fundraiser's currency", store.ErrConflict, f.Currency)
	}
	if goal.Amount < f.GoalAmount {
		return f, fmt.Errorf("%w: the goal can be raised but never lowered (it is %d)", store.ErrConflict, f.GoalAmount)
	}
	f, err = s.cfg.Store.RaiseGoal(ctx, fundraiserID, goal.Amount)
	if err != nil {
		return f, err
	}
	s.cfg.Notify()
	return f, nil
}

// End ends a fundraiser; ending it again returns it unchanged.
func (s *Service) End(ctx context.Context, fundraiserID string) (store.Fundraiser, error) {
	f, err := s.cfg.Store.SetFundraiserStatus(ctx, fundraiserID, store.StatusEnded)
	if err != nil {
		return f, err
	}
	s.cfg.Notify()
	return f, nil
}

// MaxThanksRunes bounds the broadcaster's closing message.
const MaxThanksRunes = 1000

// Ban bans a viewer from a fundraiser's chat and stickers until until
// (zero: for good; otherwise a timeout).
func (s *Service) Ban(ctx context.Context, fundraiserID, userID string, until time.Time) error {
	f, err := s.cfg.Store.GetFundraiser(ctx, fundraiserID)
	if err != nil {
		return err
	}
	if userID == f.BroadcasterID {
		return &FieldError{Field: "user_id", Unprocessable: true, Message: "a broadcaster cannot ban themselves"}
	}
	if _, err := s.cfg.Store.BanUser(ctx, fundraiserID, userID, until); err != nil {
		return err
	}
	if s.cfg.Policy != nil {
		s.cfg.Policy.Banned(fundraiserID, userID, true)
	}
	s.cfg.Notify()
	return nil
}

// Unban lifts a ban or a timeout, also where it holds against the
// viewer's browser.
func (s *Service) Unban(ctx context.Context, fundraiserID, userID string) error {
	if _, err := s.cfg.Store.GetFundraiser(ctx, fundraiserID); err != nil {
		return err
	}
	changed, err := s.cfg.Store.UnbanUser(ctx, fundraiserID, userID)
	if err != nil {
		return err
	}
	if s.cfg.Policy != nil {
		// Other sessions of the browser are read again from the ledger.
		s.cfg.Policy.Unbanned(fundraiserID, userID)
	}
	if changed {
		s.cfg.Notify()
	}
	return nil
}

// Bans lists the fundraiser's bans and running timeouts.
func (s *Service) Bans(ctx context.Context, fundraiserID string) ([]store.Ban, error) {
	return s.cfg.Store.ListBans(ctx, fundraiserID)
}

// SetSlowMode sets the wait between one viewer's chat messages and tells
// the room.
func (s *Service) SetSlowMode(ctx context.Context, fundraiserID string, seconds int) (store.Fundraiser, error) {
	f, err := s.cfg.Store.SetSlowMode(ctx, fundraiserID, seconds)
	if err != nil {
		return f, err
	}
	if s.cfg.Policy != nil {
		s.cfg.Policy.SlowMode(fundraiserID, seconds)
	}
	return f, s.announceChat(ctx, f)
}

// SetChatModes sets the chat modes (donors only, new chatters' wait) and
// tells the room.
func (s *Service) SetChatModes(ctx context.Context, fundraiserID string, m store.ChatModes) (store.Fundraiser, error) {
	f, err := s.cfg.Store.SetChatModes(ctx, fundraiserID, m)
	if err != nil {
		return f, err
	}
	if s.cfg.Policy != nil {
		s.cfg.Policy.Modes(fundraiserID, m)
	}
	return f, s.announceChat(ctx, f)
}

// announceChat publishes the fundraiser's chat rules ("chat.settings").
func (s *Service) announceChat(ctx context.Context, f store.Fundraiser) error {
	return s.enqueue(ctx, f.ID, wire.TypeChatSettings, ChatSettings(f))
}

// ChatSettings are the chat rules of f as clients see them.
func ChatSettings(f store.Fundraiser) wire.ChatSettingsData {
	return wire.ChatSettingsData{
		SlowModeSeconds:       f.SlowModeSeconds,
		DonorsOnly:            f.ChatDonorsOnly,
		NewChatterWaitSeconds: f.ChatWaitSeconds,
		Closed:                f.Status == store.StatusEnded,
	}
}

// SetThanks sets the broadcaster's closing message (cleaned like a donor
// message, at most MaxThanksRunes) and tells the room with a "fundraiser"
// event that carries it (Thanks set, even when empty).
func (s *Service) SetThanks(ctx context.Context, fundraiserID, text string) (store.Fundraiser, error) {
	clean, ok := cleanText(text)
	switch {
	case !ok:
		return store.Fundraiser{}, &FieldError{Field: "text", Message: "must be valid UTF-8"}
	case utf8.RuneCountInString(clean) > MaxThanksRunes:
		return store.Fundraiser{}, &FieldError{Field: "text", Message: fmt.Sprintf("must be at most %d characters long", MaxThanksRunes)}
	}
	f, err := s.cfg.Store.SetThanks(ctx, fundraiserID, clean)
	if err != nil {
		return f, err
	}
	return f, s.enqueue(ctx, f.ID, wire.TypeFundraiser, FundraiserEvent(f))
}

// FundraiserEvent is the data of a "fundraiser" event about f.
func FundraiserEvent(f store.Fundraiser) wire.FundraiserData {
	return wire.FundraiserData{Status: f.Status, Goal: wire.Money{Amount: f.GoalAmount, Currency: f.Currency}, Thanks: &f.Thanks}
}

// TestAlert asks the fundraiser's overlays to show a made-up gift.
func (s *Service) TestAlert(ctx context.Context, fundraiserID string) error {
	f, err := s.cfg.Store.GetFundraiser(ctx, fundraiserID)
	if err != nil {
		return err
	}
	amount := int64(25) // of the currency's units: $25.00, ¥25
	for range money.Exponent(f.Currency) {
		amount *= 10
	}
	return s.enqueue(ctx, f.ID, wire.TypeTestAlert, wire.TestAlertData{
		Name: "Test donor", Amount: amount, Currency: f.Currency,
		Message: "This is a test alert from your studio: nothing was given.",
	})
}
