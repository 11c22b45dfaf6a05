package client

import (
	"fmt"
	"testing"
)

func TestIDSetForgetsTheOldest(t *testing.T) {
	s := newIDSet(3)
	for _, id := range []string{"a", "b", "c"} {
		if !s.add(id) {
			t.Fatalf("%s reported as seen", id)
		}
	}
	if s.add("a") || s.add("c") {
		t.Fatal("a repeat was reported new")
	}
	if !s.add("d") { // forgets a
		t.Fatal("d reported as seen")
	}
	if !s.add("a") { // forgets b
		t.Fatal("a still remembered beyond the set's size")
	}
	if s.add("c") || s.add("d") {
		t.Fatal("recent ids forgotten")
	}
	for i := range 100 {
		s.add(fmt.Sprint(i))
	}
	if len(s.set) != 3 || len(s.ring) != 3 {
		t.Fatalf("set grew to %d ids, ring %d", len(s.set), len(s.ring))
	}
}
