package hub_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/hub/wire"
)

func TestRemoveModerated(t *testing.T) {
	pub := func(off uint64, typ, data string) hub.Publication {
		return hub.Publication{Type: typ, Data: []byte(data), Offset: off, Epoch: "e", Time: int64(off)}
	}
	cases := []struct {
		name     string
		in, want []hub.Publication
	}{
		{"nothing moderated", []hub.Publication{
			pub(1, wire.TypeChat, `{"id":"c1","user":{"id":"u1"},"text":"hi"}`),
		}, nil},
		{"moderation of what is not in the stretch", []hub.Publication{
			pub(5, wire.TypeChat, `{"id":"c5","user":{"id":"u1"},"text":"hi"}`),
			pub(6, wire.TypeChatDeleted, `{"id":"c1"}`),
			pub(7, wire.TypeDonationHidden, `{"id":"d1"}`),
			pub(8, wire.TypeUserBanned, `{"user_id":"u9"}`),
		}, nil},
		{"hidden donation keeps unknown members", []hub.Publication{
			pub(1, wire.TypeDonation, `{"id":"d1","amount":100,"message":"x","future":{"a":[1,2]}}`),
			pub(2, wire.TypeDonationHidden, `{"id":"d1"}`),
		}, []hub.Publication{
			pub(1, wire.TypeDonation, `{"amount":100,"future":{"a":[1,2]},"id":"d1","message":""}`),
			pub(2, wire.TypeDonationHidden, `{"id":"d1"}`),
		}},
		{"hidden donation without a message is left alone", []hub.Publication{
			pub(1, wire.TypeDonation, `{"id":"d1","message":""}`),
			pub(2, wire.TypeDonationHidden, `{"id":"d1"}`),
		}, nil},
		{"ban removes every earlier line of the user", []hub.Publication{
			pub(1, wire.TypeChat, `{"id":"c1","user":{"id":"u2"},"text":"a"}`),
			pub(2, wire.TypeChat, `{"id":"c2","user":{"id":"u3"},"text":"b"}`),
			pub(3, wire.TypeUserBanned, `{"user_id":"u2"}`),
		}, []hub.Publication{
			pub(1, wire.TypeChatDeleted, `{"id":"c1"}`),
			pub(2, wire.TypeChat, `{"id":"c2","user":{"id":"u3"},"text":"b"}`),
			pub(3, wire.TypeUserBanned, `{"user_id":"u2"}`),
		}},
		{"malformed data is left as it is", []hub.Publication{
			pub(1, wire.TypeChat, `"not an object"`),
			pub(2, wire.TypeDonation, `[1]`),
			pub(3, wire.TypeChatDeleted, `{"id":5}`),
			pub(4, wire.TypeDonationHidden, `{}`),
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := clonePubs(tc.in)
			got := hub.RemoveModerated(in)
			if diff := cmp.Diff(tc.in, in); diff != "" {
				t.Fatalf("the input was modified (-before +after):\n%s", diff)
			}
			want := tc.want
			if want == nil {
				want = tc.in
				if len(got) > 0 && &got[0] != &in[0] {
					t.Error("an unchanged stretch was copied")
				}
			}
			if diff := cmp.Diff(want, got, cmp.Transformer("string", func(b []byte) string { return string(b) })); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func clonePubs(ps []hub.Publication) []hub.Publication {
	out := make([]hub.Publication, len(ps))
	for i, p := range ps {
		p.Data = append([]byte(nil), p.Data...)
		out[i] = p
	}
	return out
}
