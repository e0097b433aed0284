package peer

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/signalling"
)

// The refusals a call can meet are sentinels, matched with errors.Is, each
// carrying the JS SDK's code string (ErrorCode) for parity with the other
// SDKs. They arrive wrapped in a category type (pion's rtcerr pattern):
// *ArgumentError, *SendError or *StateError, which name the method.
var (
	// ErrInvalidArgs: an argument is missing or malformed (invalid_args).
	ErrInvalidArgs = &codeError{"invalid_args", "invalid arguments"}
	// ErrReservedChannel: the channel uses a reserved prefix
	// (reserved_channel).
	ErrReservedChannel = &codeError{"reserved_channel", "the channel uses a reserved prefix"}
	// ErrNotJoined: the call needs a joined MeteredPeer (not_joined).
	ErrNotJoined = &codeError{"not_joined", "not joined"}
	// ErrSelfSend: a direct message addressed to this peer (self_send).
	ErrSelfSend = &codeError{"self_send", "cannot send to self"}
	// ErrInvalidState: the MeteredPeer's state does not allow the call
	// (invalid_state).
	ErrInvalidState = &codeError{"invalid_state", "invalid state"}
	// ErrTrackAlreadyAttached: the track is already sent in another stream
	// (track_already_attached).
	ErrTrackAlreadyAttached = &codeError{"track_already_attached", "track already attached to another stream"}
)

type codeError struct{ code, text string }

func (e *codeError) Error() string { return e.text }

// ErrorCode returns the JS SDK's code string of the first sentinel in
// err's chain ("not_joined", "invalid_args", …), or "" when there is none.
func ErrorCode(err error) string {
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return ""
}

// ArgumentError rejects a call's arguments before anything is done. Err
// wraps ErrInvalidArgs or ErrReservedChannel and, where there is one, the
// cause (a *protocol.ValidationError, an encoding error).
type ArgumentError struct {
	Method string
	Err    error
}

func (e *ArgumentError) Error() string { return "peer: " + e.Method + ": " + e.Err.Error() }

// Unwrap returns the sentinel and the cause.
func (e *ArgumentError) Unwrap() error { return e.Err }

// Code is the JS SDK's code string.
func (e *ArgumentError) Code() string { return ErrorCode(e.Err) }

// SendError rejects a Send or SendTo before anything is sent. Err wraps
// ErrNotJoined, ErrSelfSend or ErrInvalidArgs.
type SendError struct {
	Method string
	Err    error
}

func (e *SendError) Error() string { return "peer: " + e.Method + ": " + e.Err.Error() }

// Unwrap returns the sentinel (and cause).
func (e *SendError) Unwrap() error { return e.Err }

// Code is the JS SDK's code string.
func (e *SendError) Code() string { return ErrorCode(e.Err) }

// StateError rejects a call the current state does not allow. Err wraps
// ErrInvalidState or ErrTrackAlreadyAttached.
type StateError struct {
	Method string
	State  State
	Err    error
}

func (e *StateError) Error() string {
	return fmt.Sprintf("peer: %s: %v (state %s)", e.Method, e.Err, e.State)
}

// Unwrap returns the sentinel.
func (e *StateError) Unwrap() error { return e.Err }

// Code is the JS SDK's code string.
func (e *StateError) Code() string { return ErrorCode(e.Err) }

// wrapArgs joins a sentinel with the cause, so that both errors.Is and
// errors.As reach them.
func wrapArgs(sentinel error, cause error) error {
	if cause == nil {
		return sentinel
	}
	return fmt.Errorf("%w: %w", sentinel, cause)
}

// OversizedError is returned when a payload or a track's metadata
// serialises to more bytes than the server's message cap.
type OversizedError = signalling.OversizedError

// ReplaceTrackFailure is one peer whose sender could not take the new track.
type ReplaceTrackFailure struct {
	PeerID string
	Err    error
}

// ReplaceTrackError reports a ReplaceTrack that failed for some peers.
type ReplaceTrackError struct {
	Succeeded []string
	Failed    []ReplaceTrackFailure
}

func (e *ReplaceTrackError) Error() string {
	return strconv.Itoa(len(e.Failed)) + " of " + strconv.Itoa(len(e.Succeeded)+len(e.Failed)) + " peer(s) failed to replace the track"
}

// DataChannelOverflowError is returned by DataChannel.Send when Queued sends
// already wait and the queue holds at most Cap.
type DataChannelOverflowError struct {
	Queued int
	Cap    int
}

func (e *DataChannelOverflowError) Error() string {
	return fmt.Sprintf("peer: data channel send queue full (%d queued, cap %d)", e.Queued, e.Cap)
}

// Sentinel errors, matched with errors.Is.
var (
	// ErrICERestartExhausted arrives once on NegotiationError when a
	// connection's ICE-restart budget is spent; that connection will not
	// recover by itself.
	ErrICERestartExhausted = errors.New("peer: ICE restart gave up after 9 attempts")
	// ErrReconcileTimeout arrives on FatalError when presence was not
	// restored after a reconnect; close the MeteredPeer and build a new one.
	ErrReconcileTimeout = errors.New("peer: presence was not restored after reconnecting; close this MeteredPeer and create a new one")
	// ErrDataChannelClosed is returned by sends on a closed DataChannel.
	ErrDataChannelClosed = errors.New("peer: data channel is closed")
	// ErrDataChannelNotOpen is returned by a send whose turn came before the
	// channel opened (sends are not held until open, as in JS).
	ErrDataChannelNotOpen = errors.New("peer: data channel is not open")
	// ErrPeerClosed is returned by RemotePeer calls after it closed.
	ErrPeerClosed      = errors.New("peer: remote peer is closed")
	errBadCandidate    = errors.New("peer: rtc-ice candidate is not an object")
	errNoPeerID        = errors.New("a peer id is required")
	errNoTrack         = errors.New("a track is required (nil, or a nil pointer such as a *media.Track of a file without that kind of media)")
	errNoStream        = errors.New("a stream is required")
	errOfferUnanswered = errors.New("peer: the remote peer never answered the offer")
)

// CloseError is the FatalError for a close code that ends the session;
// Code.String() is the JS SDK's name for it (invalid_token, token_expired,
// channel_not_authorized, account_suspended, admin_disconnect).
type CloseError struct {
	Code   protocol.CloseCode
	Reason string
}

func (e *CloseError) Error() string { return "peer: connection closed: " + e.Code.String() }
