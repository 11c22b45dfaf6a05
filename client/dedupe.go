package client

// idSet remembers the last n ids added, to recognise repeats in bounded
// memory: a ring of ids and a set over it. It is not safe for concurrent
// use; its Subscription's lock guards it.
type idSet struct {
	ring []string
	next int
	set  map[string]struct{}
}

func newIDSet(n int) *idSet {
	return &idSet{ring: make([]string, 0, n), set: make(map[string]struct{}, n)}
}

// add records id and reports whether it is new. When the set is full the
// oldest id is forgotten.
func (s *idSet) add(id string) bool {
	if _, ok := s.set[id]; ok {
		return false
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, id)
	} else {
		delete(s.set, s.ring[s.next])
		s.ring[s.next] = id
		s.next = (s.next + 1) % len(s.ring)
	}
	s.set[id] = struct{}{}
	return true
}
