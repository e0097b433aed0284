package peer

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/metered-ca/realtime-go/signalling"
)

// SendError codes.
const (
	CodeReservedChannel = "reserved_channel"
	CodeNotJoined       = "not_joined"
	CodeInvalidArgs     = "invalid_args"
	CodeSelfSend        = "self_send"
)

// SendError rejects a Join, Send or SendTo before anything is sent.
type SendError struct {
	Code   string
	Reason string
}

func (e *SendError) Error() string { return "peer: " + e.Code + ": " + e.Reason }

// StateError codes.
const (
	CodeInvalidState         = "invalid_state"
	CodeTrackAlreadyAttached = "track_already_attached"
)

// StateError rejects a call the current state does not allow.
type StateError struct {
	Code   string
	Method string
	State  State
}

func (e *StateError) Error() string {
	return fmt.Sprintf("peer: %s: %s (state %s)", e.Method, e.Code, e.State)
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
	// ErrIceRestartExhausted arrives once on NegotiationError when a
	// connection's ICE-restart budget is spent; that connection will not
	// recover by itself.
	ErrIceRestartExhausted = errors.New("peer: ICE restart gave up after 9 attempts")
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
	errOfferUnanswered = errors.New("peer: the remote peer never answered the offer")
)

// CloseError is the FatalError for a close code that ends the session:
// Name is the JS SDK's name for it (invalid_token, token_expired,
// channel_not_authorized, account_suspended, admin_disconnect).
type CloseError struct {
	Code   int
	Name   string
	Reason string
}

func (e *CloseError) Error() string { return "peer: connection closed: " + e.Name }

func closeCodeName(code int) string {
	switch code {
	case 4001:
		return "invalid_token"
	case 4002:
		return "token_expired"
	case 4003:
		return "channel_not_authorized"
	case 4012:
		return "account_suspended"
	case 4020:
		return "admin_disconnect"
	}
	return "close_" + strconv.Itoa(code)
}

func isFatalClose(code int) bool {
	switch code {
	case 4001, 4002, 4003, 4012, 4020:
		return true
	}
	return false
}

// fatalServerCodes are the uncorrelated server error codes that MeteredPeer
// raises as FatalError.
func isFatalServerCode(code string) bool {
	switch code {
	case "account_suspended", "channel_not_authorized", "action_not_permitted", "invalid_token", "token_expired":
		return true
	}
	return false
}
