package client

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/givelive/givelive/hub/wire"
)

// TypeSnapshot is the Type of the events the client makes itself: the
// room's REST snapshot, delivered first on every Subscription and again
// whenever the server could not replay what the client missed. The
// application resets what it shows of the room to the snapshot; the events
// after it continue from the snapshot's position.
const TypeSnapshot = "snapshot"

// Event is one item of a Subscription: a server event or a snapshot.
type Event struct {
	Room string
	// Type is one of the wire.Type* constants, TypeSnapshot, or a type
	// this version of the client does not know.
	Type string
	// Offset is the event's place in the room's stream; 0 for volatile
	// events (stickers, viewer counts). For a snapshot it is the offset of
	// the position the snapshot reflects.
	Offset uint64
	// Time is when the server published the event, or fetched the
	// snapshot.
	Time time.Time
	// Data is the decoded payload, by Type:
	//
	//	chat               wire.ChatData
	//	chat.deleted       wire.ChatDeletedData
	//	donation           wire.DonationData
	//	donation.refunded  wire.DonationRefundedData
	//	donation.hidden    wire.DonationHiddenData
	//	milestone          wire.MilestoneData
	//	shoutout           wire.ShoutoutData
	//	stream             wire.StreamData
	//	fundraiser         wire.FundraiserData
	//	user.banned        wire.UserBannedData
	//	user.unbanned      wire.UserUnbannedData
	//	chat.settings      wire.ChatSettingsData
	//	alert.test         wire.TestAlertData
	//	donation.unhidden  wire.DonationUnhiddenData
	//	sticker            wire.StickerData
	//	viewers            wire.ViewersData
	//	snapshot           *Snapshot
	//
	// An unknown type, or data that does not decode as its type should,
	// gives json.RawMessage.
	Data any
	// Raw is the data as the server sent it; nil for snapshots.
	Raw json.RawMessage
}

// decodeData decodes an event's data into the payload type of typ.
func decodeData(typ string, raw json.RawMessage) (any, error) {
	switch typ {
	case wire.TypeChat:
		return decodeAs[wire.ChatData](raw)
	case wire.TypeChatDeleted:
		return decodeAs[wire.ChatDeletedData](raw)
	case wire.TypeDonation:
		return decodeAs[wire.DonationData](raw)
	case wire.TypeDonationRefunded:
		return decodeAs[wire.DonationRefundedData](raw)
	case wire.TypeDonationHidden:
		return decodeAs[wire.DonationHiddenData](raw)
	case wire.TypeMilestone:
		return decodeAs[wire.MilestoneData](raw)
	case wire.TypeShoutout:
		return decodeAs[wire.ShoutoutData](raw)
	case wire.TypeStream:
		return decodeAs[wire.StreamData](raw)
	case wire.TypeFundraiser:
		return decodeAs[wire.FundraiserData](raw)
	case wire.TypeUserBanned:
		return decodeAs[wire.UserBannedData](raw)
	case wire.TypeUserUnbanned:
		return decodeAs[wire.UserUnbannedData](raw)
	case wire.TypeChatSettings:
		return decodeAs[wire.ChatSettingsData](raw)
	case wire.TypeDonationUnhidden:
		return decodeAs[wire.DonationUnhiddenData](raw)
	case wire.TypeTestAlert:
		return decodeAs[wire.TestAlertData](raw)
	case wire.TypeSticker:
		return decodeAs[wire.StickerData](raw)
	case wire.TypeViewers:
		return decodeAs[wire.ViewersData](raw)
	default:
		return raw, nil
	}
}

func decodeAs[T any](raw json.RawMessage) (any, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw, fmt.Errorf("failed to decode data: %w", err)
	}
	return v, nil
}

// newEvent builds an Event from a decoded server event.
func newEvent(m *message) (Event, error) {
	raw := m.Data
	data, err := decodeData(m.Type, raw)
	return Event{
		Room:   m.Room,
		Type:   m.Type,
		Offset: m.Offset,
		Time:   time.UnixMilli(m.TS),
		Data:   data,
		Raw:    raw,
	}, err
}

// message is anything the server sends: an event or a reply. Fields of
// the other kind stay zero.
type message struct {
	Op string `json:"op"`
	// Events.
	Room   string          `json:"room"`
	Type   string          `json:"type"`
	Offset uint64          `json:"offset"`
	TS     int64           `json:"ts"`
	Data   json.RawMessage `json:"data"`
	// Replies (Room and Offset too, for subscribe).
	ID        uint64            `json:"id"`
	OK        bool              `json:"ok"`
	Error     *wire.Error       `json:"error"`
	Epoch     string            `json:"epoch"`
	Recovered bool              `json:"recovered"`
	Events    []json.RawMessage `json:"events"`
}

// reply returns m as a wire.Reply.
func (m *message) reply() wire.Reply {
	return wire.Reply{
		Op: m.Op, ID: m.ID, OK: m.OK, Error: m.Error,
		Room: m.Room, Epoch: m.Epoch, Offset: m.Offset, Recovered: m.Recovered, Events: m.Events,
	}
}
