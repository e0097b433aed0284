package signalling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/metered-ca/realtime-go/protocol"
)

// Defaults, as in the JS SDK 1.2.0.
const (
	DefaultInactivityTimeout    = 60 * time.Second
	DefaultTokenProviderTimeout = 10 * time.Second
	WelcomeTimeout              = 10 * time.Second // not configurable, as in JS
	AckTimeout                  = 15 * time.Second // not configurable, as in JS
	DefaultInitialDelay         = 500 * time.Millisecond
	DefaultMultiplier           = 2.0
	DefaultMaxDelay             = 30 * time.Second
	DefaultJitterRatio          = 0.2
	DefaultMaxAttempts          = 100
	SlowBackoffFloor            = 30 * time.Second // after close 4010
	TokenProviderErrorThreshold = 3
	ResubscribeRetries          = 3
	ResubscribeRetryDelay       = 2 * time.Second
	closeFlushTimeout           = time.Second
)

// TokenProvider returns a fresh JWT. It is called before every connection
// attempt, the first and each reconnect, and must honour ctx.
type TokenProvider func(ctx context.Context) (string, error)

// Options configure a Client. The zero value of every field is a safe
// default; exactly one of APIKey and TokenProvider must be set.
type Options struct {
	// URL is the server origin, "wss://host[:port]" ("ws://" only for
	// localhost). No path, query or fragment: the client appends /v1.
	// Empty means wss://rms.metered.ca.
	URL string
	// APIKey is a publishable key (pk_…), sent as ?key=.
	APIKey string
	// TokenProvider mints a JWT, sent as ?token=.
	TokenProvider TokenProvider
	// TokenProviderTimeout bounds each TokenProvider call (0: 10 s).
	TokenProviderTimeout time.Duration
	// Logger receives scrubbed diagnostics (nil: discard).
	Logger *slog.Logger
	// Reconnect tunes automatic reconnection; its zero value is the JS
	// SDK's ladder (500 ms, ×2, 30 s cap, ±20 %, 100 attempts).
	Reconnect ReconnectOptions
	// InactivityTimeout closes the connection (code 4000) when no text frame
	// arrives for this long; a {"type":"ping"} keepalive is sent every
	// max(1 s, InactivityTimeout/3) of silence. 0 means 60 s; a negative
	// value disables both the watchdog and the keepalive.
	InactivityTimeout time.Duration
	// DisableAutoResubscribe turns off replaying subscriptions after a
	// reconnect (on by default, as in JS).
	DisableAutoResubscribe bool
	// Header is added to the WebSocket handshake, e.g. an Origin header for a
	// publishable key restricted to allowed origins.
	Header http.Header
	// EventBuffer is the default size of the streams returned by Events
	// (0: 4096).
	EventBuffer int
	// MaxPendingEvents bounds the events waiting for the handlers registered
	// with On and Once (0: 65536; negative: unbounded). Handlers run one at a
	// time, so a slow one delays every later event of this client; once
	// this many wait, new events are dropped and counted in DroppedEvents
	// (the slow-consumer rule of nats.go). Hand long work to a goroutine of
	// your own, or range over Events, whose buffer is the consumer's.
	MaxPendingEvents int
}

// ReconnectOptions tune the reconnect ladder. The delay before attempt n is
// min(InitialDelay×Multiplier^(n−1), MaxDelay), raised to 30 s after a 4010
// close, then jittered by ±JitterRatio.
type ReconnectOptions struct {
	// Disabled turns automatic reconnection off.
	Disabled bool
	// InitialDelay is the first delay (0: 500 ms).
	InitialDelay time.Duration
	// Multiplier is the growth per attempt (0: 2; otherwise ≥ 1).
	Multiplier float64
	// MaxDelay caps the delay (0: 30 s).
	MaxDelay time.Duration
	// JitterRatio in (0, 1] spreads each delay by ±ratio (0: 0.2; negative:
	// no jitter).
	JitterRatio float64
	// MaxAttempts bounds consecutive attempts (0: 100; negative: no bound).
	MaxAttempts int
}

// config is Options with defaults applied and checked.
type config struct {
	origin               string
	apiKey               string
	tokenProvider        TokenProvider
	tokenProviderTimeout time.Duration
	log                  *slog.Logger
	reconnect            bool
	initialDelay         time.Duration
	multiplier           float64
	maxDelay             time.Duration
	jitter               float64
	maxAttempts          int // <0: unbounded
	inactivity           time.Duration
	heartbeat            time.Duration
	autoResubscribe      bool
	header               http.Header
	eventBuffer          int
	maxPending           int

	// Fixed by the JS SDK; tests shorten them.
	welcomeTimeout time.Duration
	ackTimeout     time.Duration
	slowFloor      time.Duration
	replayDelay    time.Duration
}

func (o Options) resolve() (*config, error) {
	if (o.APIKey != "") == (o.TokenProvider != nil) {
		if o.APIKey != "" {
			return nil, errors.New("signalling: pass exactly one of APIKey or TokenProvider, not both")
		}
		return nil, errors.New("signalling: one of APIKey or TokenProvider is required")
	}
	origin, err := protocol.NormalizeBaseURL(o.URL)
	if err != nil {
		return nil, err
	}
	c := &config{
		origin:               origin,
		apiKey:               o.APIKey,
		tokenProvider:        o.TokenProvider,
		tokenProviderTimeout: o.TokenProviderTimeout,
		log:                  o.Logger,
		reconnect:            !o.Reconnect.Disabled,
		initialDelay:         o.Reconnect.InitialDelay,
		multiplier:           o.Reconnect.Multiplier,
		maxDelay:             o.Reconnect.MaxDelay,
		jitter:               o.Reconnect.JitterRatio,
		maxAttempts:          o.Reconnect.MaxAttempts,
		inactivity:           o.InactivityTimeout,
		autoResubscribe:      !o.DisableAutoResubscribe,
		header:               o.Header.Clone(),
		eventBuffer:          o.EventBuffer,
		maxPending:           o.MaxPendingEvents,
		welcomeTimeout:       WelcomeTimeout,
		ackTimeout:           AckTimeout,
		slowFloor:            SlowBackoffFloor,
		replayDelay:          ResubscribeRetryDelay,
	}
	switch {
	case c.tokenProviderTimeout == 0:
		c.tokenProviderTimeout = DefaultTokenProviderTimeout
	case c.tokenProviderTimeout < 0:
		return nil, errors.New("signalling: TokenProviderTimeout must be > 0 (a provider without a timeout can pin Connect forever)")
	}
	if c.initialDelay == 0 {
		c.initialDelay = DefaultInitialDelay
	}
	if c.multiplier == 0 {
		c.multiplier = DefaultMultiplier
	}
	if c.maxDelay == 0 {
		c.maxDelay = DefaultMaxDelay
	}
	switch {
	case c.jitter == 0:
		c.jitter = DefaultJitterRatio
	case c.jitter < 0:
		c.jitter = 0
	}
	if c.maxAttempts == 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	switch {
	case c.initialDelay < 0:
		return nil, fmt.Errorf("signalling: Reconnect.InitialDelay must be ≥ 0, got %v", c.initialDelay)
	case c.multiplier < 1 || c.multiplier != c.multiplier || c.multiplier > 1e6:
		return nil, fmt.Errorf("signalling: Reconnect.Multiplier must be a finite number ≥ 1, got %v", c.multiplier)
	case c.maxDelay < 0:
		return nil, fmt.Errorf("signalling: Reconnect.MaxDelay must be ≥ 0, got %v", c.maxDelay)
	case c.jitter > 1:
		return nil, fmt.Errorf("signalling: Reconnect.JitterRatio must be in [0, 1], got %v", c.jitter)
	}
	switch {
	case c.inactivity == 0:
		c.inactivity = DefaultInactivityTimeout
	case c.inactivity < 0:
		c.inactivity = 0 // disabled, keepalive too
	}
	if c.inactivity > 0 {
		c.heartbeat = max(time.Second, c.inactivity/3)
	}
	if c.eventBuffer <= 0 {
		c.eventBuffer = 4096
	}
	return c, nil
}
