package wire

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

var stringCases = []string{
	"", "plain", `quote " and \ backslash`, "line\nbreak\ttab\r", "\x00\x01\x1f",
	"<script>&amp;</script>", "emoji 🎉 and accents é", "bad \xff utf8", "\u2028\u2029", "f_0193a",
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range stringCases {
		got := AppendString(nil, s)
		want, _ := json.Marshal(s)
		if string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, encoding/json gives %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s is not valid JSON: %v", s, got, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip %q → %q", s, back)
		}
		want, _ := json.Marshal(s)
		if string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json gives %s", s, got, want)
		}
	})
}

func TestAppendEvent(t *testing.T) {
	cases := []struct {
		name   string
		room   string
		typ    string
		offset uint64
		data   string
		want   Event
	}{
		{"recoverable", "f_1", TypeDonation, 58, `{"id":"d1","amount":500}`,
			Event{Op: "event", Room: "f_1", Type: TypeDonation, Offset: 58, TS: 1763900000123, Data: json.RawMessage(`{"id":"d1","amount":500}`)}},
		{"volatile has no offset", "f_1", TypeViewers, 0, `{"count":3}`,
			Event{Op: "event", Room: "f_1", Type: TypeViewers, TS: 1763900000123, Data: json.RawMessage(`{"count":3}`)}},
		{"empty data is null", "f_1", TypeStream, 1, ``,
			Event{Op: "event", Room: "f_1", Type: TypeStream, Offset: 1, TS: 1763900000123, Data: json.RawMessage(`null`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendEvent(nil, tc.room, tc.typ, tc.offset, 1763900000123, []byte(tc.data))
			var got Event
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("event (-want +got):\n%s", diff)
			}
			if strings.Contains(string(b), `"offset"`) != (tc.offset > 0) {
				t.Fatalf("offset field presence wrong in %s", b)
			}
		})
	}
}

func TestAppendEventAllocatesOnlyToGrow(t *testing.T) {
	buf := make([]byte, 0, 512)
	data := []byte(`{"id":"c_1","text":"hello"}`)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendEvent(buf[:0], "f_0193a2b4", TypeChat, 42, 1763900000123, data)
	})
	if allocs != 0 {
		t.Fatalf("AppendEvent into a large enough buffer allocated %.0f times", allocs)
	}
}

func TestRepliesDecodeAsReply(t *testing.T) {
	ev := AppendEvent(nil, "f_1", TypeChat, 5, 1, []byte(`{}`))
	cases := []struct {
		name string
		b    []byte
		want Reply
	}{
		{"ok", EncodeOK(3), Reply{Op: "reply", ID: 3, OK: true}},
		{"error without id", EncodeError(0, Errorf(ErrBadRequest, "bad")), Reply{Op: "reply", Error: &Error{Code: ErrBadRequest, Message: "bad"}}},
		{"subscribe", EncodeSubscribe(1, "f_1", Position{Epoch: "e", Offset: 5}, true, [][]byte{ev}),
			Reply{Op: "reply", ID: 1, OK: true, Room: "f_1", Epoch: "e", Offset: 5, Recovered: true, Events: []json.RawMessage{ev}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got Reply
			if err := json.Unmarshal(tc.b, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("reply (-want +got):\n%s", diff)
			}
		})
	}
	// A fresh subscribe always carries every field, even when zero/empty.
	b := string(EncodeSubscribe(1, "f_1", Position{Epoch: "e"}, false, nil))
	for _, field := range []string{`"offset":0`, `"recovered":false`, `"events":[]`} {
		if !strings.Contains(b, field) {
			t.Errorf("subscribe reply %s lacks %s", b, field)
		}
	}
}
