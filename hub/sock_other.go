//go:build !unix

package hub

// tryWrite never writes here: every write goes through a flusher.
func (s sock) tryWrite([]byte) (int, error) { return 0, errWouldBlock }

// tryRead is not used here: readers wait in Read.
func (s sock) tryRead([]byte) (int, error) { return 0, errWouldBlock }

// setSendBuffer leaves the system's buffer here.
func (s sock) setSendBuffer(int) error { return nil }
