package bridge

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/pion/webrtc/v4"
)

// Options configure a WHIP or WHEP endpoint. Every zero value is safe
// except that some way to authenticate clients (Token, Authorize or
// Anonymous) must be chosen.
type Options struct {
	// Token is the Bearer token a client must present.
	Token string
	// Authorize, when set, decides on each request's token instead of
	// Token (per-client tokens).
	Authorize func(r *http.Request, token string) bool
	// Anonymous accepts clients without a token: for a listener only
	// trusted clients reach.
	Anonymous bool

	// MaxSessions bounds the sessions at once; more are refused with 503
	// (0: 16 publishers for WHIP, 64 players for WHEP).
	MaxSessions int
	// MaxBodyBytes bounds an offer or a PATCH body; more is refused with
	// 413 (0: 64 KiB).
	MaxBodyBytes int64
	// ConnectTimeout ends a session whose connection is not up this long
	// after its offer (0: 30 s). A session whose connection fails later
	// (a client gone without DELETE) ends when ICE gives up on it.
	ConnectTimeout time.Duration

	// ICEServers are the STUN and TURN servers the endpoint's own
	// connections use. They are handed to clients in Link headers: STUN
	// to anyone, TURN (its credentials) only to an authenticated client
	// on loopback unless LinkTURNToAll.
	ICEServers    []webrtc.ICEServer
	LinkTURNToAll bool

	// SettingEngine tunes the endpoint's connections (network types, ICE
	// timeouts, a UDP mux, pion's virtual network in tests).
	SettingEngine webrtc.SettingEngine
	// Logger receives one line per session event (nil: discard).
	Logger *slog.Logger
}

func (o Options) withDefaults(sessions int) Options {
	if o.MaxSessions <= 0 {
		o.MaxSessions = sessions
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 10
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
