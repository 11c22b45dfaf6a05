package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"time"

	"github.com/givelive/givelive/internal/money"
	"github.com/givelive/givelive/internal/store"
)

// reportPage is how many donations the CSV report reads at a time.
const reportPage = 500

// GetFundraiserReport writes every donation as CSV, oldest first.
func (h *handlers) GetFundraiserReport(ctx context.Context, req GetFundraiserReportRequestObject) (GetFundraiserReportResponseObject, error) {
	f, err := h.fundraiser(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	// The ledger pages newest first; collect, then write oldest first.
	var all []store.Donation
	for before := ""; ; {
		ds, err := h.store.ListDonations(ctx, store.DonationFilter{FundraiserID: f.ID, Before: before, Limit: reportPage})
		if err != nil {
			return nil, err
		}
		all = append(all, ds...)
		if len(ds) < reportPage {
			break
		}
		before = ds[len(ds)-1].ID
	}
	var buf bytes.Buffer
	// A UTF-8 byte order mark: without it Excel reads the file in the
	// local code page and garbles every name outside ASCII.
	buf.WriteString("\uFEFF")
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"donation_id", "created_at", "settled_at", "refunded_at", "status", "amount", "currency",
		"amount_decimal", "name", "anonymous", "message", "provider", "provider_ref"})
	for i := len(all) - 1; i >= 0; i-- {
		d := all[i]
		_ = w.Write([]string{
			d.ID, csvTime(d.CreatedAt), csvTime(d.SettledAt), csvTime(d.RefundedAt), d.Status,
			strconv.FormatInt(d.Amount, 10), d.Currency, money.Decimal(d.Amount, d.Currency),
			csvText(d.PublicName()), strconv.FormatBool(d.Anonymous), csvText(d.PublicMessage),
			d.Provider, d.ProviderRef,
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	return GetFundraiserReport200TextcsvResponse{Body: &buf, ContentLength: int64(buf.Len())}, nil
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// csvText defuses text a spreadsheet would run as a formula (CSV
// injection): a leading =, +, -, @, tab or carriage return gets a '.
func csvText(s string) string {
	if s != "" && bytes.ContainsRune([]byte("=+-@\t\r"), rune(s[0])) {
		return "'" + s
	}
	return s
}

// ListPayouts sums what each nonprofit is owed (admin).
func (h *handlers) ListPayouts(ctx context.Context, _ ListPayoutsRequestObject) (ListPayoutsResponseObject, error) {
	ps, err := h.store.Payouts(ctx)
	if err != nil {
		return nil, err
	}
	items := make([]Payout, len(ps))
	for i, p := range ps {
		np, err := h.store.GetNonprofit(ctx, p.NonprofitID)
		if err != nil {
			return nil, err
		}
		items[i] = Payout{
			Nonprofit: NonprofitRef{Id: np.ID, Name: np.Name, Country: np.Country},
			Currency:  p.Currency, Raised: p.Raised, Refunded: p.Refunded,
			Donations: p.Donations, Fundraisers: p.Fundraisers,
			Direct: p.Direct, Owed: p.Raised - p.Direct, PayoutAccount: np.PayoutAccount,
		}
	}
	return ListPayouts200JSONResponse{Items: items}, nil
}
