package signalling

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/metered-ca/realtime-go/protocol"
)

// Every error type of this package is used as a pointer: match it with
// errors.As(err, new(*signalling.ServerError)) and the like.

// ConnectError reports a first connection attempt that ended before the
// server's welcome. Either the server closed the socket (CloseCode, for
// example 4001 for a bad token; Err is nil), or the socket never opened:
// CloseCode is 1006, as a browser reports it, and Err is the cause (a
// refused connection, a DNS failure, an HTTP status instead of the
// upgrade), scrubbed of credentials. Its message never includes the
// server's reason text; read CloseReason for that.
type ConnectError struct {
	CloseCode   protocol.CloseCode
	CloseReason string
	Err         error
}

func (e *ConnectError) Error() string {
	if e.Err != nil {
		return "signalling: cannot connect: " + e.Err.Error()
	}
	return "signalling: connection closed before welcome (code " + strconv.Itoa(int(e.CloseCode)) + " " + e.CloseCode.String() + ")"
}

// Unwrap returns the cause of a socket that never opened.
func (e *ConnectError) Unwrap() error { return e.Err }

// WelcomeTimeoutError reports a connection that saw no welcome frame within
// WelcomeTimeout.
type WelcomeTimeoutError struct{ Timeout time.Duration }

func (e *WelcomeTimeoutError) Error() string {
	return fmt.Sprintf("signalling: no welcome frame within %v", e.Timeout)
}

// ServerError is the error returned, as *ServerError, when the server
// rejects a request. Code is an open set (see the protocol.Code*
// constants); Message is human text only, never branch on it. An error
// frame that answers no pending request is the ServerErrorReceived event.
type ServerError struct {
	Code      protocol.ErrorCode
	RequestID string
	Message   string
}

func (e *ServerError) Error() string {
	if e.Message != "" {
		return "signalling: server error " + string(e.Code) + ": " + e.Message
	}
	return "signalling: server error " + string(e.Code)
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
	Code   protocol.CloseCode
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

// OversizedError is returned, before anything is sent, when a message's
// whole frame (payload, envelope and request id) serialises to more bytes
// than the server's advertised cap, which would otherwise cost the
// connection (close 1009). The connection is kept.
type OversizedError struct {
	Size int // bytes of the frame that would have been sent
	Cap  int // the server's limit for one frame
}

func (e *OversizedError) Error() string {
	return fmt.Sprintf("signalling: message frame of %d bytes exceeds the server's %d-byte limit", e.Size, e.Cap)
}

// TokenProviderError reports a failing or timed-out token provider: Connect
// returns it, as *TokenProviderError, when the first attempt's provider
// fails. Err has been scrubbed of anything that looks like a credential.
// Failures while reconnecting are TokenProviderFailed events.
type TokenProviderError struct {
	ConsecutiveFailures int
	Err                 error
}

func (e *TokenProviderError) Error() string { return "signalling: token provider: " + e.Err.Error() }

// Unwrap returns the provider's (scrubbed) error.
func (e *TokenProviderError) Unwrap() error { return e.Err }

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
var ErrClosed = errors.New("signalling: client closed")
