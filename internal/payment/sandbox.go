package payment

import (
	"context"
	"errors"
)

// Sandbox test amounts, in minor units of any currency. Every other amount
// succeeds at once.
const (
	// SandboxDecline fails the donation as if the card were declined.
	SandboxDecline = 9902
	// SandboxPending leaves the donation pending for good, as a payment
	// whose confirmation never arrives would.
	SandboxPending = 9903
	// SandboxUnavailable makes Charge fail with an error, as an
	// unreachable provider would; the donation stays pending without a
	// payment and a retry with the same idempotency key tries again.
	SandboxUnavailable = 9904
)

// ErrSandboxUnavailable is the error Charge returns for SandboxUnavailable.
var ErrSandboxUnavailable = errors.New("sandbox provider unavailable (test amount 99.04)")

// Sandbox is the default provider: it moves no money and decides every
// charge at once from its amount.
type Sandbox struct{}

var (
	_ Provider = Sandbox{}
	_ Instant  = Sandbox{}
)

// Name returns "sandbox".
func (Sandbox) Name() string { return "sandbox" }

// Decide answers a charge from its amount (see the Sandbox constants),
// except SandboxUnavailable, which only Charge can express.
// Sandbox charges have no payment id (Ref).
func (Sandbox) Decide(r Request) (Charge, bool) {
	switch r.Amount {
	case SandboxUnavailable:
		return Charge{}, false
	case SandboxDecline:
		return Charge{Status: Failed, FailureReason: "card declined (sandbox test amount)"}, true
	case SandboxPending:
		return Charge{Status: Pending}, true
	}
	return Charge{Status: Succeeded}, true
}

// Charge is Decide, except that SandboxUnavailable is an error.
func (s Sandbox) Charge(_ context.Context, r Request) (Charge, error) {
	c, ok := s.Decide(r)
	if !ok {
		return Charge{}, ErrSandboxUnavailable
	}
	return c, nil
}

// Refund always succeeds.
func (Sandbox) Refund(context.Context, RefundRequest) error { return nil }
