package hub

import (
	"context"
	"errors"

	"github.com/givelive/givelive/hub/wire"
)

// Broker carries a room's publications to every node subscribed to it and
// keeps the room's history. MemoryBroker serves one node; a Redis broker
// serves many. Implementations must pass the contract tests in package
// hub/brokertest.
//
// Ordering contract: for each room, the handler sees recoverable
// publications in strictly increasing offset order, one at a time.
type Broker interface {
	// Start registers the handler for publications in rooms this node has
	// subscribed to. It is called once, before any other method.
	Start(h PublicationHandler) error
	// Publish assigns the next offset to a recoverable publication (atomically
	// with appending it to the room's history) and delivers it. Volatile
	// publications (wire.Recoverable false) get no offset and no history. It
	// returns the room's position after the publication.
	Publish(ctx context.Context, room string, p Publication) (wire.Position, error)
	// Subscribe makes this node receive the room's publications; when it
	// returns, every later publication reaches the handler. The hub calls
	// Subscribe and Unsubscribe for a room one at a time, in order.
	Subscribe(ctx context.Context, room string) error
	Unsubscribe(ctx context.Context, room string) error
	// History returns the room's current position and, when since is given,
	// whether every publication after since is still held, and if so all of
	// them in order. It never returns part of a gap, and never content a
	// later publication in the gap removed (RemoveModerated).
	History(ctx context.Context, room string, since *wire.Position) (History, error)
	// Close releases the broker's resources.
	Close() error
}

// PublicationHandler receives publications from a Broker.
type PublicationHandler interface {
	HandlePublication(room string, p Publication)
}

// GapHandler is implemented by a PublicationHandler (the Hub) that can be
// told a room's publications may have been lost on their way to this node
// and could not be recovered: when the broker's link to a shared backend
// comes back and the room's history no longer covers what was missed. The
// hub then makes the room's viewers resume, rather than wait for the
// room's next publication to show the gap.
type GapHandler interface {
	HandleGap(room string)
}

// Publication is one event as the broker carries it.
type Publication struct {
	Type   string // wire.Type*
	Data   []byte // JSON value
	Time   int64  // Unix milliseconds at publish
	Offset uint64 // 0 on volatile publications
	Epoch  string // the epoch Offset belongs to
}

// History is the answer of Broker.History.
type History struct {
	Position     wire.Position
	Recovered    bool
	Publications []Publication
}

// ViewerCounter is implemented by a broker that several nodes share: the
// hub reports its local viewer count of each room it holds, once per
// ViewerInterval, and publishes the total when the broker says this node
// announces it (one node per room does).
type ViewerCounter interface {
	CountViewers(ctx context.Context, room string, local int64) (total int64, announce bool, err error)
}

// ErrBrokerClosed is returned by a broker after Close.
var ErrBrokerClosed = errors.New("broker closed")
