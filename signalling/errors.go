package signalling

import (
	"fmt"
	"strconv"
	"time"
)

// ConnectError reports a connection closed by the server before its first
// welcome (for example 4001 for a bad token). Its message never includes
// the server's reason text; read CloseReason for that.
type ConnectError struct {
	CloseCode   int
	CloseReason string
}

func (e *ConnectError) Error() string {
	return "signalling: connection closed before welcome (code " + strconv.Itoa(e.CloseCode) + ")"
}

// WelcomeTimeoutError reports a connection that saw no welcome frame within
// WelcomeTimeout.
type WelcomeTimeoutError struct{ Timeout time.Duration }

func (e *WelcomeTimeoutError) Error() string {
	return fmt.Sprintf("signalling: no welcome frame within %v", e.Timeout)
}

// ServerError is both the error returned when the server rejects a request
// and the event emitted for an error frame that answers no pending request.
// Code is an open set (see the protocol.Err* constants); Message is human
// text only, never branch on it.
type ServerError struct {
	Code      string
	RequestID string
	Message   string
}

func (e ServerError) Error() string {
	if e.Message != "" {
		return "signalling: server error " + e.Code + ": " + e.Message
	}
	return "signalling: server error " + e.Code
}

// NotConnectedError is returned by a request made while the client is not
// connected; nothing was sent.
type NotConnectedError struct{ State State }

func (e *NotConnectedError) Error() string {
	return "signalling: not connected (state=" + e.State.String() + ")"
}

// DisconnectedError is returned by a request whose connection closed before
// the server answered; the request may or may not have been processed.
type DisconnectedError struct {
	Code   int
	Reason string
}

func (e *DisconnectedError) Error() string {
	return fmt.Sprintf("signalling: connection closed before ack: code=%d reason=%q", e.Code, e.Reason)
}

// AckTimeoutError is returned when the server answered a request neither
// with an ack nor an error within AckTimeout.
type AckTimeoutError struct {
	RequestID string
	Timeout   time.Duration
}

func (e *AckTimeoutError) Error() string {
	return "signalling: ack timeout for requestId=" + e.RequestID + " (no server ack within " + e.Timeout.String() + ")"
}

// OversizedError is returned, before anything is sent, when a payload
// serialises to more bytes than the server's advertised cap. The
// connection is kept.
type OversizedError struct {
	Size int
	Cap  int
}

func (e *OversizedError) Error() string {
	return fmt.Sprintf("signalling: payload of %d bytes exceeds the %d-byte cap", e.Size, e.Cap)
}

// TokenProviderError reports a failing or timed-out token provider. It is
// returned by Connect when the first attempt's provider fails, and emitted
// as an event on every failure from the third consecutive one on. Err has
// been scrubbed of anything that looks like a credential.
type TokenProviderError struct {
	ConsecutiveFailures int
	Err                 error
}

func (e TokenProviderError) Error() string { return "signalling: token provider: " + e.Err.Error() }
func (e TokenProviderError) Unwrap() error { return e.Err }

// StateError is returned by a call made in a state that does not allow it,
// such as Connect while already connected.
type StateError struct {
	Method string
	State  State
}

func (e *StateError) Error() string {
	return "signalling: " + e.Method + ": invalid state '" + e.State.String() + "'"
}

// ErrClosed is returned by Connect when Close was called while it waited.
var ErrClosed = errClosed{}

type errClosed struct{}

func (errClosed) Error() string { return "signalling: client closed" }
