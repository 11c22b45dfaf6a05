package hls

// Hooks for the external tests.

// Sweep runs the sweeper's pass now.
func (s *Server) Sweep() { s.sweep() }

// SetWaitHook has fn called with "start" when a playlist request starts
// waiting for a first segment and with the wait's result when it ends.
// Call it before the Server serves.
func (s *Server) SetWaitHook(fn func(event string)) { s.waitHook = fn }
