//go:build !linux

package hub

import "errors"

// pollable reports whether this platform has a poller: here it does not,
// and every connection has a reader goroutine waiting in Read.
const pollable = false

type poller struct{}

func newPoller(func(*Conn)) (*poller, error) { return nil, errors.New("no poller on this platform") }
func (*poller) add(*Conn)                    {}
func (*poller) arm(*Conn) error              { return errors.New("no poller on this platform") }
func (*poller) remove(*Conn)                 {}
func (*poller) close()                       {}
