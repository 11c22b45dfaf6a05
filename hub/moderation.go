package hub

import (
	"encoding/json"
	"slices"

	"github.com/givelive/givelive/hub/wire"
)

// RemoveModerated returns a stretch of one room's history (publications in
// offset order, as History returns them) without the content that later
// publications in the same stretch took down: a chat line deleted
// (chat.deleted) or written by a user banned afterwards (user.banned) is
// replaced, at its offset, by a chat.deleted event naming it; a donation
// whose message was hidden (donation.hidden) keeps its amount and total
// and loses its message. Everything else is returned byte for byte.
//
// A replay is always the whole gap after a position, and a moderation
// event always follows what it removes, so a replay that holds removed
// content also holds the event that removed it: filtering each replay
// this way means no replay ever carries it. Brokers call this in History;
// pubs is not modified (a changed stretch is a copy).
func RemoveModerated(pubs []Publication) []Publication {
	var deleted, banned, hidden map[string]bool
	for _, p := range pubs {
		switch p.Type {
		case wire.TypeChatDeleted:
			var d wire.ChatDeletedData
			if json.Unmarshal(p.Data, &d) == nil && d.ID != "" {
				deleted = add(deleted, d.ID)
			}
		case wire.TypeUserBanned:
			var d wire.UserBannedData
			if json.Unmarshal(p.Data, &d) == nil && d.UserID != "" {
				banned = add(banned, d.UserID)
			}
		case wire.TypeDonationHidden:
			var d wire.DonationHiddenData
			if json.Unmarshal(p.Data, &d) == nil && d.ID != "" {
				hidden = add(hidden, d.ID)
			}
		}
	}
	if deleted == nil && banned == nil && hidden == nil {
		return pubs
	}
	out := pubs
	changed := func(i int, p Publication) {
		if &out[0] == &pubs[0] {
			out = slices.Clone(pubs)
		}
		out[i] = p
	}
	for i, p := range pubs {
		switch {
		case p.Type == wire.TypeChat && (deleted != nil || banned != nil):
			var d wire.ChatData
			if json.Unmarshal(p.Data, &d) != nil || !deleted[d.ID] && !banned[d.User.ID] {
				continue
			}
			p.Type, p.Data = wire.TypeChatDeleted, mustJSON(wire.ChatDeletedData{ID: d.ID})
			changed(i, p)
		case p.Type == wire.TypeDonation && hidden != nil:
			if data, ok := withoutMessage(p.Data, hidden); ok {
				p.Data = data
				changed(i, p)
			}
		}
	}
	return out
}

// withoutMessage returns a donation's data with an empty message when its
// id is in hidden. Every other member is kept as it was.
func withoutMessage(data []byte, hidden map[string]bool) ([]byte, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return nil, false
	}
	var id string
	if json.Unmarshal(fields["id"], &id) != nil || !hidden[id] {
		return nil, false
	}
	if string(fields["message"]) == `""` {
		return nil, false // nothing to hide
	}
	fields["message"] = json.RawMessage(`""`)
	return mustJSON(fields), true
}

func add(set map[string]bool, key string) map[string]bool {
	if set == nil {
		set = make(map[string]bool)
	}
	set[key] = true
	return set
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("hub: " + err.Error()) // only plain structs and raw JSON already checked
	}
	return b
}
