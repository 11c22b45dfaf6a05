package ledgerrules

import (
	"errors"
	"math"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/givelive/givelive/hub/wire"
	"github.com/givelive/givelive/internal/store"
)

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^d_[0-9a-f]{32}$`)
	prev := ""
	for range 100 {
		id, err := NewID(PrefixDonation)
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(id) {
			t.Fatalf("NewID = %q, want d_ and 32 lowercase hex digits", id)
		}
		if id <= prev {
			t.Fatalf("NewID = %q after %q: not increasing", id, prev)
		}
		prev = id
	}
}

func TestCheckNewDonation(t *testing.T) {
	tests := []struct {
		name   string
		amount int64
		status string
		ok     bool
	}{
		{"pending", 1, store.DonationPending, true},
		{"succeeded", 500, store.DonationSucceeded, true},
		{"failed", 500, store.DonationFailed, true},
		{"zero amount", 0, store.DonationPending, false},
		{"negative amount", -5, store.DonationSucceeded, false},
		{"refunded", 500, store.DonationRefunded, false},
		{"empty status", 500, "", false},
		{"unknown status", 500, "paid", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNewDonation(store.NewDonation{Amount: tt.amount, Status: tt.status})
			if (err == nil) != tt.ok {
				t.Fatalf("CheckNewDonation(%d, %q) = %v, want ok %v", tt.amount, tt.status, err, tt.ok)
			}
		})
	}
}

func TestNewDonationRecord(t *testing.T) {
	created := time.UnixMilli(1_700_000_000_123).UTC()
	in := store.NewDonation{
		FundraiserID: "f_1", IdempotencyKey: "k", RequestHash: []byte{1, 2}, UserID: "u_1",
		Amount: 500, Currency: "EUR", Name: "Ann", Message: "hi", PublicMessage: "hi!",
		Anonymous: true, Provider: "sandbox", ProviderRef: "pi_1", FailureReason: "card declined",
	}
	tests := []struct {
		status  string
		settled time.Time
		reason  string
	}{
		{store.DonationPending, time.Time{}, ""},
		{store.DonationSucceeded, created, ""},
		{store.DonationFailed, created, "card declined"},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			in := in
			in.RequestHash = slices.Clone(in.RequestHash)
			in.Status = tt.status
			d := NewDonationRecord("d_1", "USD", in, created)
			want := store.Donation{
				ID: "d_1", FundraiserID: "f_1", IdempotencyKey: "k", RequestHash: []byte{1, 2}, UserID: "u_1",
				Amount: 500, Currency: "USD", Name: "Ann", Message: "hi", PublicMessage: "hi!",
				Anonymous: true, Status: tt.status, Provider: "sandbox", ProviderRef: "pi_1",
				FailureReason: tt.reason, CreatedAt: created, SettledAt: tt.settled,
			}
			if d.ID != want.ID || d.FundraiserID != want.FundraiserID || d.IdempotencyKey != want.IdempotencyKey ||
				!slices.Equal(d.RequestHash, want.RequestHash) || d.UserID != want.UserID || d.Amount != want.Amount ||
				d.Currency != want.Currency || d.Name != want.Name || d.Message != want.Message ||
				d.PublicMessage != want.PublicMessage || d.Anonymous != want.Anonymous || d.Status != want.Status ||
				d.Provider != want.Provider || d.ProviderRef != want.ProviderRef ||
				d.FailureReason != want.FailureReason || !d.CreatedAt.Equal(want.CreatedAt) ||
				!d.SettledAt.Equal(want.SettledAt) || !d.RefundedAt.IsZero() || d.ClientSecret != "" || d.MessageHidden {
				t.Fatalf("NewDonationRecord = %+v, want %+v", d, want)
			}
			in.RequestHash[0] = 9
			if d.RequestHash[0] != 1 {
				t.Fatal("RequestHash shares the caller's slice")
			}
		})
	}
	if d := NewDonationRecord("d_1", "", store.NewDonation{RequestHash: []byte{}}, created); d.RequestHash != nil {
		t.Fatalf("empty RequestHash = %v, want nil", d.RequestHash)
	}
}

func TestCanSettle(t *testing.T) {
	statuses := []string{store.DonationPending, store.DonationSucceeded, store.DonationFailed, store.DonationRefunded, "", "x"}
	for _, from := range statuses {
		for _, to := range statuses {
			want := from == store.DonationPending && (to == store.DonationSucceeded || to == store.DonationFailed)
			if got := CanSettle(from, to); got != want {
				t.Errorf("CanSettle(%q, %q) = %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestDonorKeyAndName(t *testing.T) {
	tests := []struct {
		name     string
		d        store.Donation
		key      string
		donorNam string
	}{
		{"guest named", store.Donation{ID: "d_1", Name: "Ann"}, "d:d_1", "Ann"},
		{"guest anonymous", store.Donation{ID: "d_1", Name: "Ann", Anonymous: true}, "d:d_1", store.AnonymousName},
		{"guest nameless", store.Donation{ID: "d_1"}, "d:d_1", store.AnonymousName},
		{"user named", store.Donation{ID: "d_1", UserID: "u_1", Name: "Ann"}, "u:u_1", "Ann"},
		{"user nameless", store.Donation{ID: "d_1", UserID: "u_1"}, "u:u_1", store.AnonymousName},
		{"user anonymous", store.Donation{ID: "d_1", UserID: "u_1", Name: "Ann", Anonymous: true}, "a:u_1", store.AnonymousName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DonorKey(tt.d); got != tt.key {
				t.Errorf("DonorKey = %q, want %q", got, tt.key)
			}
			if got := DonorName(tt.d); got != tt.donorNam {
				t.Errorf("DonorName = %q, want %q", got, tt.donorNam)
			}
		})
	}
	named, anon := DonorKeys("u_1")
	if named != DonorKey(store.Donation{UserID: "u_1"}) || anon != DonorKey(store.Donation{UserID: "u_1", Anonymous: true}) {
		t.Errorf("DonorKeys = %q, %q: not the keys DonorKey gives", named, anon)
	}
}

func TestStatusTransition(t *testing.T) {
	tests := []struct {
		from, to string
		column   string
		ok       bool
	}{
		{store.StatusScheduled, store.StatusLive, "started_at", true},
		{store.StatusScheduled, store.StatusEnded, "ended_at", true},
		{store.StatusLive, store.StatusEnded, "ended_at", true},
		{store.StatusScheduled, store.StatusScheduled, "", false},
		{store.StatusLive, store.StatusLive, "", false},
		{store.StatusLive, store.StatusScheduled, "", false},
		{store.StatusEnded, store.StatusLive, "", false},
		{store.StatusEnded, store.StatusScheduled, "", false},
		{store.StatusEnded, store.StatusEnded, "", false},
		{store.StatusScheduled, "paused", "", false},
		{"", store.StatusLive, "", false},
	}
	for _, tt := range tests {
		column, ok := StatusTransition(tt.from, tt.to)
		if column != tt.column || ok != tt.ok {
			t.Errorf("StatusTransition(%q, %q) = %q, %v, want %q, %v", tt.from, tt.to, column, ok, tt.column, tt.ok)
		}
	}
}

func TestNormalizeMilestones(t *testing.T) {
	tests := []struct {
		name string
		in   []int
		want []int
		ok   bool
	}{
		{"nil is the default", nil, store.DefaultMilestones, true},
		{"empty is none", []int{}, nil, true},
		{"sorted and compacted", []int{100, 50, 50, 1, 1000}, []int{1, 50, 100, 1000}, true},
		{"zero", []int{0, 50}, nil, false},
		{"negative", []int{-1}, nil, false},
		{"too high", []int{50, MaxMilestone + 1}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got, err := NormalizeMilestones(in)
			if (err == nil) != tt.ok {
				t.Fatalf("NormalizeMilestones(%v) error %v, want ok %v", tt.in, err, tt.ok)
			}
			if !slices.Equal(got, tt.want) || (tt.want == nil && got != nil) {
				t.Fatalf("NormalizeMilestones(%v) = %#v, want %#v", tt.in, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Fatalf("NormalizeMilestones changed its input to %v", in)
			}
		})
	}
	got, _ := NormalizeMilestones(nil)
	got[0] = -1
	if store.DefaultMilestones[0] == -1 {
		t.Fatal("NormalizeMilestones(nil) shares store.DefaultMilestones")
	}
}

func TestMilestoneAmount(t *testing.T) {
	tests := []struct {
		goal    int64
		percent int
		amount  int64
		ok      bool
	}{
		{0, 50, 0, true},
		{1000, 25, 250, true},
		{1000, 100, 1000, true},
		{1000, 1000, 10000, true},
		{1, 1, 1, true},     // ceil(0.01)
		{99, 50, 50, true},  // ceil(49.5)
		{101, 50, 51, true}, // ceil(50.5)
		{333, 33, 110, true},
		{math.MaxInt64 / 1000, MaxMilestone, math.MaxInt64 / 1000 * 10, true},
		{math.MaxInt64, 100, 0, false}, // no room left for rounding up
		{math.MaxInt64, 101, 0, false},
		{math.MaxInt64 / 10, MaxMilestone, 0, false},
	}
	for _, tt := range tests {
		amount, ok := MilestoneAmount(tt.goal, tt.percent)
		if amount != tt.amount || ok != tt.ok {
			t.Errorf("MilestoneAmount(%d, %d) = %d, %v, want %d, %v", tt.goal, tt.percent, amount, ok, tt.amount, tt.ok)
		}
	}
}

func TestGenerateSecret(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		gen     func() ([]byte, error)
		want    []byte
		wantErr error
	}{
		{"value", func() ([]byte, error) { return []byte("k"), nil }, []byte("k"), nil},
		{"error", func() ([]byte, error) { return nil, boom }, nil, boom},
		{"empty", func() ([]byte, error) { return []byte{}, nil }, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GenerateSecret("jwt", tt.gen)
			switch {
			case tt.want != nil:
				if err != nil || string(got) != string(tt.want) {
					t.Fatalf("GenerateSecret = %q, %v, want %q", got, err, tt.want)
				}
			case err == nil:
				t.Fatalf("GenerateSecret = %q, want an error", got)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("GenerateSecret error %v does not wrap %v", err, tt.wantErr)
			}
		})
	}
}

func TestEventData(t *testing.T) {
	f := store.Fundraiser{ID: "f_1", Status: store.StatusLive, GoalAmount: 10000, Currency: "EUR",
		Raised: 2500, Donors: 3, DonationCount: 4}
	total := wire.Total{Raised: 2500, Goal: 10000, Donors: 3, Currency: "EUR"}
	if got := Total(f); got != total {
		t.Errorf("Total = %+v, want %+v", got, total)
	}
	d := store.Donation{ID: "d_1", Name: "Ann", Anonymous: true, Amount: 500, Currency: "EUR",
		Message: "raw", PublicMessage: "shown"}
	want := wire.DonationData{ID: "d_1", Name: store.AnonymousName, Amount: 500, Currency: "EUR",
		Message: "shown", Total: total}
	if got := DonationData(f, d); got != want {
		t.Errorf("DonationData = %+v, want %+v", got, want)
	}
	if got, want := RefundedData(f, d), (wire.DonationRefundedData{ID: "d_1", Total: total}); got != want {
		t.Errorf("RefundedData = %+v, want %+v", got, want)
	}
	if got, want := MilestoneData(f, 2500), (wire.MilestoneData{Amount: 2500, Currency: "EUR"}); got != want {
		t.Errorf("MilestoneData = %+v, want %+v", got, want)
	}
	wantF := wire.FundraiserData{Status: store.StatusLive, Goal: wire.Money{Amount: 10000, Currency: "EUR"}}
	if got := FundraiserData(f); got != wantF {
		t.Errorf("FundraiserData = %+v, want %+v", got, wantF)
	}
}

func TestMilestonesCrossed(t *testing.T) {
	f := store.Fundraiser{GoalAmount: 1000, Milestones: []int{25, 50, 75, 100, 200}}
	tests := []struct {
		name     string
		f        store.Fundraiser
		from, to int64
		want     []int64
	}{
		{"none yet", f, 0, 249, nil},
		{"exactly one", f, 0, 250, []int64{250}},
		{"several", f, 100, 1000, []int64{250, 500, 750, 1000}},
		{"from is excluded", f, 250, 600, []int64{500}},
		{"all", f, 0, 5000, []int64{250, 500, 750, 1000, 2000}},
		{"no move", f, 500, 500, nil},
		{"downwards", f, 800, 100, nil},
		{"zero goal", store.Fundraiser{Milestones: []int{50}}, 0, 100, nil},
		{"no milestones", store.Fundraiser{GoalAmount: 1000}, 0, 1000, nil},
		{"equal amounts once", store.Fundraiser{GoalAmount: 1, Milestones: []int{1, 50, 100}}, 0, 1, []int64{1}},
		{"too large", store.Fundraiser{GoalAmount: math.MaxInt64, Milestones: []int{50, 1000}},
			0, math.MaxInt64, []int64{math.MaxInt64/100*50 + (math.MaxInt64%100*50+99)/100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MilestonesCrossed(tt.f, tt.from, tt.to); !slices.Equal(got, tt.want) {
				t.Fatalf("MilestonesCrossed(%d, %d) = %v, want %v", tt.from, tt.to, got, tt.want)
			}
		})
	}
}
