package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
)

// bodyDeadline gives a request body the request timeout to arrive in full.
// The server has no overall read timeout (WebSockets and blocking playlist
// reloads share it), so without this a client that declares a body and
// sends it a byte at a time holds a handler, and its goroutine, for as long
// as it likes. A body late past the deadline is answered with 408 and the
// connection closed. The deadline is lifted as soon as the body has been
// read, so neither a slow handler nor the next request on the connection
// is cut short by it.
func (s *Server) bodyDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody {
			return next(c)
		}
		rc := http.NewResponseController(c.Response())
		if err := rc.SetReadDeadline(time.Now().Add(s.cfg.RequestTimeout)); err != nil {
			return next(c) // the connection cannot take deadlines: nothing to enforce
		}
		body := &deadlineBody{ReadCloser: r.Body, rc: rc, timeout: s.cfg.RequestTimeout}
		r.Body = body
		err := next(c)
		if body.late {
			c.Response().Header().Set(echo.HeaderConnection, "close")
		} else {
			body.lift()
		}
		return err
	}
}

// deadlineBody turns the connection's read deadline into a 408 and lifts
// the deadline once the body is complete.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	lifted  bool
	late    bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		b.lift()
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.late = true
		return n, echo.NewHTTPError(http.StatusRequestTimeout,
			fmt.Sprintf("The request body did not arrive within %s; send it whole and promptly.", b.timeout)).SetInternal(err)
	}
	return n, err
}

// lift clears the read deadline: net/http reads the connection in the
// background once the body is done, and the deadline must not end that.
func (b *deadlineBody) lift() {
	if !b.lifted {
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}
