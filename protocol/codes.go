package protocol

import "strconv"

// CloseCode is a WebSocket close code as RMS uses it.
type CloseCode int

// Close codes used on the RMS WebSocket. Codes below 4000 are defined by
// RFC 6455; 4000 is sent only by clients; the rest are sent by the server.
const (
	CloseNormal               CloseCode = 1000 // client requested close
	CloseGoingAway            CloseCode = 1001 // graceful server shutdown
	CloseUnsupportedData      CloseCode = 1003 // a binary frame: RMS speaks text only
	CloseAbnormal             CloseCode = 1006 // no close frame (never sent on the wire)
	CloseInvalidPayload       CloseCode = 1007 // a text frame that is not valid UTF-8
	ClosePolicyViolation      CloseCode = 1008
	CloseMessageTooBig        CloseCode = 1009
	CloseClientInactivity     CloseCode = 4000 // client watchdog or welcome timeout
	CloseInvalidToken         CloseCode = 4001
	CloseTokenExpired         CloseCode = 4002
	CloseChannelNotAuthorized CloseCode = 4003
	CloseOverConcurrentLimit  CloseCode = 4010
	CloseOverMessageRate      CloseCode = 4011
	CloseAccountSuspended     CloseCode = 4012
	CloseAdminDisconnect      CloseCode = 4020
)

// closeNames is the one table of close-code facts: the JS SDK's name for
// each code, whether it stops the signalling client's reconnects
// (TERMINAL_CLOSE_CODES) and whether a MeteredPeer reports it as fatal.
var closeNames = map[CloseCode]struct {
	name            string
	terminal, fatal bool
}{
	CloseNormal:               {name: "normal"},
	CloseGoingAway:            {name: "going_away"},
	CloseUnsupportedData:      {name: "unsupported_data"},
	CloseAbnormal:             {name: "abnormal"},
	CloseInvalidPayload:       {name: "invalid_payload"},
	ClosePolicyViolation:      {name: "policy_violation"},
	CloseMessageTooBig:        {name: "message_too_big"},
	CloseClientInactivity:     {name: "client_inactivity"},
	CloseInvalidToken:         {name: "invalid_token", terminal: true, fatal: true},
	CloseTokenExpired:         {name: "token_expired", fatal: true},
	CloseChannelNotAuthorized: {name: "channel_not_authorized", terminal: true, fatal: true},
	CloseOverConcurrentLimit:  {name: "over_concurrent_limit"},
	CloseOverMessageRate:      {name: "over_message_rate"},
	CloseAccountSuspended:     {name: "account_suspended", terminal: true, fatal: true},
	CloseAdminDisconnect:      {name: "admin_disconnect", terminal: true, fatal: true},
}

// String is the JS SDK's name for the code ("invalid_token"), or
// "close_NNNN" for a code RMS does not define.
func (c CloseCode) String() string {
	if n, ok := closeNames[c]; ok {
		return n.name
	}
	return "close_" + strconv.Itoa(int(c))
}

// Terminal reports whether the code stops automatic reconnection, exactly
// as the JS SDK's TERMINAL_CLOSE_CODES.
func (c CloseCode) Terminal() bool { return closeNames[c].terminal }

// Fatal reports whether a MeteredPeer raises the code as a FatalError: the
// terminal codes and 4002 (token expired).
func (c CloseCode) Fatal() bool { return closeNames[c].fatal }

// SlowBackoff reports whether the code forces the slow reconnect floor
// (30 s) on the next attempt.
func (c CloseCode) SlowBackoff() bool { return c == CloseOverConcurrentLimit }

// ErrorCode is the code of the server's "error" frame. The set is open: a
// client must accept codes it does not know.
type ErrorCode string

// Error codes carried by the server's "error" frame.
const (
	CodeMalformedMessage     ErrorCode = "malformed_message"
	CodeUnknownType          ErrorCode = "unknown_type"
	CodeInvalidChannel       ErrorCode = "invalid_channel"
	CodeInvalidPeerID        ErrorCode = "invalid_peer_id"
	CodeChannelNotAuthorized ErrorCode = "channel_not_authorized"
	CodeChannelReserved      ErrorCode = "channel_reserved"
	CodeChannelLimitExceeded ErrorCode = "channel_limit_exceeded"
	CodePeerNotFound         ErrorCode = "peer_not_found"
	CodeMissingData          ErrorCode = "missing_data"
	CodeActionNotPermitted   ErrorCode = "action_not_permitted"
	CodeOverMessageQuota     ErrorCode = "over_message_quota"
	CodeBackendError         ErrorCode = "backend_error"
	CodeInternalError        ErrorCode = "internal_error"
	CodeAccountSuspended     ErrorCode = "account_suspended"
	CodeInvalidToken         ErrorCode = "invalid_token"
	CodeTokenExpired         ErrorCode = "token_expired"
)

// Fatal reports whether a MeteredPeer raises an uncorrelated error frame
// with this code as a FatalError.
func (c ErrorCode) Fatal() bool {
	switch c {
	case CodeAccountSuspended, CodeChannelNotAuthorized, CodeActionNotPermitted, CodeInvalidToken, CodeTokenExpired:
		return true
	}
	return false
}

// Limits and defaults shared by client and server.
const (
	// DefaultMaxMessageSize is the outbound size cap used before any welcome
	// has advertised one, and the server's default inbound frame cap.
	DefaultMaxMessageSize = 65536
	// MaxInboundFrameUnits is the client's inbound text-frame cap, measured
	// in UTF-16 code units as the JS SDK does.
	MaxInboundFrameUnits = 1 << 20
	MaxRequestIDLength   = 128 // UTF-16 code units (client side)
	MaxChannelLength     = 256 // UTF-16 code units (client side)
	MaxPeerIDLength      = 128 // UTF-16 code units (client side)
	// MaxChannelBytes and MaxPeerIDBytes are the server's documented limits.
	MaxChannelBytes = 256
	MaxPeerIDBytes  = 128
	// MaxChannelsPerConnection is the server's subscription cap.
	MaxChannelsPerConnection = 100
	// DefaultGoingAwayRetry is what retryAfterMs becomes when a going_away
	// frame carries no usable value.
	DefaultGoingAwayRetry = 1000
	// WSPath is the path the client appends to the base origin.
	WSPath = "/v1"
	// DefaultURL is the production RMS origin.
	DefaultURL = "wss://rms.metered.ca"
)
