package wire

// Payloads of the server events (the "data" member), by event type.

// User is the author of a chat message or sticker.
type User struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Badges []string `json:"badges,omitempty"`
}

// Badges a user can carry in chat.
const (
	BadgeDonor       = "donor"       // has donated to this fundraiser
	BadgeBroadcaster = "broadcaster" // owns this fundraiser
)

// StickerIDonated is the sticker unlocked by donating.
const StickerIDonated = "i-donated"

// ChatData is the data of a "chat" event.
type ChatData struct {
	ID   string `json:"id"`
	User User   `json:"user"`
	Text string `json:"text"`
}

// ChatDeletedData is the data of a "chat.deleted" event.
type ChatDeletedData struct {
	ID string `json:"id"`
}

// Total is a fundraiser's running total.
type Total struct {
	Raised   int64  `json:"raised"`
	Goal     int64  `json:"goal"`
	Donors   int64  `json:"donors"`
	Currency string `json:"currency"`
}

// Money is an amount in minor units of an ISO 4217 currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// DonationData is the data of a "donation" event. Name is "Anonymous" for
// anonymous gifts.
type DonationData struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Message  string `json:"message"`
	Total    Total  `json:"total"`
}

// DonationRefundedData is the data of a "donation.refunded" event.
type DonationRefundedData struct {
	ID    string `json:"id"`
	Total Total  `json:"total"`
}

// DonationHiddenData is the data of a "donation.hidden" event.
type DonationHiddenData struct {
	ID string `json:"id"`
}

// MilestoneData is the data of a "milestone" event.
type MilestoneData struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// ShoutoutData is the data of a "shoutout" event.
type ShoutoutData struct {
	DonationID string `json:"donation_id"`
	Text       string `json:"text"`
}

// Stream statuses.
const (
	StreamLive    = "live"
	StreamOffline = "offline"
	StreamEnded   = "ended"
)

// StreamData is the data of a "stream" event.
type StreamData struct {
	Status string `json:"status"`
	HLS    string `json:"hls"`
}

// FundraiserData is the data of a "fundraiser" event.
type FundraiserData struct {
	Status string `json:"status"`
	Goal   Money  `json:"goal"`
	// Thanks is the broadcaster's closing message, present only when it
	// changed ("" when cleared). An addition to the v1 contract.
	Thanks *string `json:"thanks,omitempty"`
}

// UserBannedData is the data of a "user.banned" event.
type UserBannedData struct {
	UserID string `json:"user_id"`
	// Until is when a timeout ends (Unix ms); absent for a ban. An
	// addition to the v1 contract.
	Until int64 `json:"until,omitempty"`
}

// UserUnbannedData is the data of a "user.unbanned" event (an addition to
// the v1 contract): the viewer may chat again.
type UserUnbannedData struct {
	UserID string `json:"user_id"`
}

// ChatSettingsData is the data of a "chat.settings" event (an addition to
// the v1 contract) and the snapshot's chat member: the rules a viewer's
// chat message meets, so pages can say them before anyone hits them.
type ChatSettingsData struct {
	SlowModeSeconds int `json:"slow_mode_seconds"`
	// DonorsOnly: only viewers who have given may chat.
	DonorsOnly bool `json:"donors_only"`
	// NewChatterWaitSeconds: a viewer's first session must be this old
	// before they may chat.
	NewChatterWaitSeconds int `json:"new_chatter_wait_seconds"`
	// Closed: the fundraiser has ended and its chat with it.
	Closed bool `json:"closed"`
}

// StickerData is the data of a "sticker" event.
type StickerData struct {
	User    User   `json:"user"`
	Sticker string `json:"sticker"`
}

// ViewersData is the data of a "viewers" event.
type ViewersData struct {
	Count int64 `json:"count"`
}

// TestAlertData is the data of an "alert.test" event: a made-up gift for
// setting up an overlay.
type TestAlertData struct {
	Name     string `json:"name"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Message  string `json:"message"`
}

// DonationUnhiddenData is the data of a "donation.unhidden" event: the
// donation's message shows again.
type DonationUnhiddenData struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}
