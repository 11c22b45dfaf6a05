package client

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/givelive/givelive/hub/wire"
)

func TestNewEventDecodesEachType(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		data string
		want any
		bad  bool
	}{
		{wire.TypeChat, `{"id":"c1","user":{"id":"u1","name":"Ada","badges":["donor"]},"text":"hi"}`,
			wire.ChatData{ID: "c1", User: wire.User{ID: "u1", Name: "Ada", Badges: []string{"donor"}}, Text: "hi"}, false},
		{wire.TypeChatDeleted, `{"id":"c1"}`, wire.ChatDeletedData{ID: "c1"}, false},
		{wire.TypeDonation, `{"id":"d1","name":"Ada","amount":500,"currency":"USD","message":"","total":{"raised":500,"goal":1000,"donors":1,"currency":"USD"}}`,
			wire.DonationData{ID: "d1", Name: "Ada", Amount: 500, Currency: "USD", Total: wire.Total{Raised: 500, Goal: 1000, Donors: 1, Currency: "USD"}}, false},
		{wire.TypeDonationRefunded, `{"id":"d1","total":{"raised":0}}`, wire.DonationRefundedData{ID: "d1"}, false},
		{wire.TypeDonationHidden, `{"id":"d1"}`, wire.DonationHiddenData{ID: "d1"}, false},
		{wire.TypeMilestone, `{"amount":250,"currency":"EUR"}`, wire.MilestoneData{Amount: 250, Currency: "EUR"}, false},
		{wire.TypeShoutout, `{"donation_id":"d1","text":"thanks"}`, wire.ShoutoutData{DonationID: "d1", Text: "thanks"}, false},
		{wire.TypeStream, `{"status":"live","hls":"/hls/f1/index.m3u8"}`, wire.StreamData{Status: "live", HLS: "/hls/f1/index.m3u8"}, false},
		{wire.TypeFundraiser, `{"status":"ended","goal":{"amount":9,"currency":"USD"}}`, wire.FundraiserData{Status: "ended", Goal: wire.Money{Amount: 9, Currency: "USD"}}, false},
		{wire.TypeUserBanned, `{"user_id":"u1"}`, wire.UserBannedData{UserID: "u1"}, false},
		{wire.TypeSticker, `{"user":{"id":"u1","name":"Ada"},"sticker":"heart"}`, wire.StickerData{User: wire.User{ID: "u1", Name: "Ada"}, Sticker: "heart"}, false},
		{wire.TypeViewers, `{"count":12}`, wire.ViewersData{Count: 12}, false},
		{"poll.opened", `{"question":"?"}`, json.RawMessage(`{"question":"?"}`), false},
		{wire.TypeDonation, `{"amount":"lots"}`, json.RawMessage(`{"amount":"lots"}`), true},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			line := wire.AppendEvent(nil, "f_1", tc.typ, 3, 1763900000123, []byte(tc.data))
			var m message
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			ev, err := newEvent(&m)
			if (err != nil) != tc.bad {
				t.Fatalf("error %v, want error %v", err, tc.bad)
			}
			if diff := cmp.Diff(tc.want, ev.Data); diff != "" {
				t.Fatalf("data (-want +got):\n%s", diff)
			}
			if ev.Room != "f_1" || ev.Type != tc.typ || ev.Offset != 3 || ev.Time.UnixMilli() != 1763900000123 || string(ev.Raw) != tc.data {
				t.Fatalf("event %+v", ev)
			}
		})
	}
}
