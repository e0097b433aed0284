package protocol

// Close codes used on the RMS WebSocket. Codes below 4000 are defined by
// RFC 6455; 4000 is sent only by clients; the rest are sent by the server.
const (
	CloseNormal               = 1000 // client requested close
	CloseGoingAway            = 1001 // graceful server shutdown
	CloseAbnormal             = 1006 // no close frame (never sent on the wire)
	ClosePolicyViolation      = 1008
	CloseMessageTooBig        = 1009
	CloseClientInactivity     = 4000 // client watchdog or welcome timeout
	CloseInvalidToken         = 4001
	CloseTokenExpired         = 4002
	CloseChannelNotAuthorized = 4003
	CloseOverConcurrentLimit  = 4010
	CloseOverMessageRate      = 4011
	CloseAccountSuspended     = 4012
	CloseAdminDisconnect      = 4020
)

// IsTerminalClose reports whether a close code stops automatic reconnection,
// exactly as the JS SDK's TERMINAL_CLOSE_CODES.
func IsTerminalClose(code int) bool {
	switch code {
	case CloseInvalidToken, CloseChannelNotAuthorized, CloseAccountSuspended, CloseAdminDisconnect:
		return true
	}
	return false
}

// IsSlowBackoffClose reports whether a close code forces the slow reconnect
// floor (30 s) on the next attempt.
func IsSlowBackoffClose(code int) bool { return code == CloseOverConcurrentLimit }

// Error codes carried by the server's "error" frame. The set is open: a
// client must accept codes it does not know.
const (
	ErrMalformedMessage     = "malformed_message"
	ErrUnknownType          = "unknown_type"
	ErrInvalidChannel       = "invalid_channel"
	ErrInvalidPeerID        = "invalid_peer_id"
	ErrChannelNotAuthorized = "channel_not_authorized"
	ErrChannelReserved      = "channel_reserved"
	ErrChannelLimitExceeded = "channel_limit_exceeded"
	ErrPeerNotFound         = "peer_not_found"
	ErrMissingData          = "missing_data"
	ErrActionNotPermitted   = "action_not_permitted"
	ErrOverMessageQuota     = "over_message_quota"
	ErrBackendError         = "backend_error"
	ErrInternalError        = "internal_error"
	ErrAccountSuspended     = "account_suspended"
	ErrInvalidToken         = "invalid_token"
	ErrTokenExpired         = "token_expired"
)

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
