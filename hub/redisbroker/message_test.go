package redisbroker

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/givelive/givelive/hub"
)

// messageCases drive the decode test and seed the fuzz target. The text is
// what the publish script (recoverable) or appendVolatile (volatile) sends.
var messageCases = []struct {
	name string
	text string
	pub  hub.Publication
	ok   bool
}{
	{"recoverable", "7 abcde chat 1700000000000\n{\"n\":1}", hub.Publication{Type: "chat", Offset: 7, Epoch: "abcde", Time: 1700000000000, Data: []byte(`{"n":1}`)}, true},
	{"volatile", "0 - viewers 5\n{\"count\":2}", hub.Publication{Type: "viewers", Time: 5, Data: []byte(`{"count":2}`)}, true},
	{"newline in data", "1 e chat 5\n\"a\nb\"", hub.Publication{Type: "chat", Offset: 1, Epoch: "e", Time: 5, Data: []byte("\"a\nb\"")}, true},
	{"empty data", "1 e chat 5\n", hub.Publication{Type: "chat", Offset: 1, Epoch: "e", Time: 5, Data: []byte{}}, true},
	{"no newline", "1 e chat 5", hub.Publication{}, false},
	{"short header", "1 e 5\n{}", hub.Publication{}, false},
	{"bad offset", "x e chat 5\n{}", hub.Publication{}, false},
	{"bad time", "1 e chat x\n{}", hub.Publication{}, false},
	{"empty type", "1 e  5\n{}", hub.Publication{}, false},
}

func TestDecodeMessage(t *testing.T) {
	for _, tc := range messageCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := decodeMessage(tc.text)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if diff := cmp.Diff(tc.pub, p); tc.ok && diff != "" {
				t.Fatalf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVolatileRoundTrip(t *testing.T) {
	in := hub.Publication{Type: "sticker", Time: 42, Data: []byte(`{"s":"x"}`)}
	out, err := decodeMessage(string(appendVolatile(nil, in)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Fatalf("round trip (-in +out):\n%s", diff)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, tc := range messageCases {
		f.Add(tc.text)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := decodeMessage(s)
		if err != nil || p.Offset != 0 || p.Epoch != "" {
			return
		}
		// A volatile publication re-encodes to what was read, up to number
		// formatting.
		q, err := decodeMessage(string(appendVolatile(nil, p)))
		if err != nil || !cmp.Equal(p, q) {
			t.Fatalf("re-encoding %q: %+v → %+v, %v", s, p, q, err)
		}
	})
}
