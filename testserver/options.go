package testserver

import (
	"encoding/json"
	"log/slog"
	"math"
	"runtime/debug"
	"time"

	"github.com/metered-ca/realtime-go/protocol"
)

// Actions a credential may hold.
const (
	ActionPublish   = "publish"
	ActionSubscribe = "subscribe"
	ActionPresence  = "presence"
	ActionSend      = "send"
)

// AllActions is every action.
var AllActions = []string{ActionPublish, ActionSubscribe, ActionPresence, ActionSend}

// The dev tenant's secret key, used when Options.Tenants is empty.
const (
	DevTenantID  = "dev"
	DevKeyID     = "sk_id_local"
	DevKeySecret = "sk_secret_local"
)

// Options configure a Server. Every zero value is a working default.
type Options struct {
	// Addr to listen on (default 127.0.0.1:0, a free loopback port).
	Addr string
	// Tenants are the apps the server knows. Empty is dev mode: one dev
	// tenant whose secret key is DevKey (DevKeyID/DevKeySecret by default),
	// any key starting with "pk_" joins it with every action on every
	// non-reserved channel, and browsers may connect from loopback origins
	// only (AllowedOrigins widens that). The dev secret is public: it mints
	// any identity and opens the REST admin API. Keep a dev-mode server on
	// loopback (docs/guides/security.md).
	Tenants []Tenant
	// DevKey replaces the dev tenant's secret key in dev mode.
	DevKey *SecretKey
	// AllowUnlistedKeys admits, when Tenants are configured, a pk_ key that
	// no tenant lists (into the first tenant, every action, every channel).
	// Off by default: only dev mode admits any pk_ key.
	AllowUnlistedKeys bool
	// AllowedOrigins are the browser origins (scheme://host[:port]) dev mode
	// accepts besides loopback ones; "*" accepts any. A handshake without an
	// Origin header (not a browser) is always accepted. With Tenants, each
	// publishable key's AllowedOrigins decide instead.
	AllowedOrigins []string
	// MaxTokenLifetime caps how long a connection made with a JWT lives when
	// the token has no exp, or an exp further away than this (default 24 h):
	// the server closes it with 4002 then, without advertising an expiry.
	MaxTokenLifetime time.Duration
	// MaxMessageSize is the inbound frame cap advertised in welcome (default
	// 65536); a larger frame is closed with 1009.
	MaxMessageSize int
	// SizeMode is "frame" (default: the whole frame counts) or "data" (only
	// the data member of publish/send counts).
	SizeMode string
	// PingInterval is the cadence of RFC 6455 control pings (default 30 s;
	// negative disables).
	PingInterval time.Duration
	// IdleTimeout closes a client that sends nothing, control pongs
	// included, for this long (0: never).
	IdleTimeout time.Duration
	// SnapshotDelay separates the subscribe ack from the presence snapshot
	// so a Node client never reads both in one chunk (default 5 ms;
	// negative: none).
	SnapshotDelay time.Duration
	// RateLimit is the per-connection token bucket (default 100/s, burst 200).
	RateLimit RateLimit
	// ExpiryLead is how long before a JWT's exp the server closes with 4002
	// (default 250 ms).
	ExpiryLead time.Duration
	// ServerTimeMillis sends welcome.serverTime in milliseconds instead of
	// seconds.
	ServerTimeMillis bool
	// RebroadcastJoin sends a second presence join to the others on a
	// repeated subscribe (off by default).
	RebroadcastJoin bool
	// CloseOnUnauthorizedSubscribe answers a subscribe outside the
	// credential's patterns with close 4003 instead of the
	// channel_not_authorized error.
	CloseOnUnauthorizedSubscribe bool
	// LegacyPing answers {"type":"ping"} with an unknown_type error without
	// requestId, as an old server does.
	LegacyPing bool
	// GoingAwayGrace is the gap between going_away and the 1001 close on
	// Shutdown (default 100 ms).
	GoingAwayGrace time.Duration
	// Record keeps every frame received and sent, and every handshake URL,
	// for Frames and HandshakeURLs.
	Record bool
	// MaxPendingBytes and MaxPendingMessages bound what may wait to be
	// written to one connection (default 4 MiB, 16,384 messages). A
	// subscriber that falls further behind is a slow consumer: it is cut
	// with close 1008, reason "slow consumer", and reconnects; the
	// publishers and the other subscribers are not slowed.
	MaxPendingBytes    int
	MaxPendingMessages int
	// MaxPendingTotal bounds the bytes waiting for every connection
	// together (default a quarter of GOMEMLIMIT when one is set, else
	// 1 GiB). Past it the connection whose queue would grow is cut as a
	// slow consumer and new connections are refused (HTTP 503) until
	// memory is back under it.
	MaxPendingTotal int64
	// MaxConnections and MaxConnectionsPerKey cap the WebSocket
	// connections of the whole server and of one credential (a publishable
	// key, or a secret key's JWTs); default 10,000 and 2,000. More are closed
	// with 4010 (over concurrent limit) before welcome, so clients back off.
	MaxConnections       int
	MaxConnectionsPerKey int
	// RequestTimeout bounds reading an HTTP request (REST, or a WebSocket
	// handshake) and writing its answer (default 15 s; headers get at most
	// 5 s), so a client that sends slowly cannot hold a connection.
	RequestTimeout time.Duration
	// IdleUnsubscribed closes, with 1008, a connection that neither
	// subscribed nor sent a message this long after its welcome (default
	// 2 min; negative: never).
	IdleUnsubscribed time.Duration
	// Logger receives diagnostics (nil: discard). At Info it logs every
	// connection's open and close, scrubbed of credentials.
	Logger *slog.Logger
	// DemoSDK is the path of the official JS SDK's ES module
	// (@metered-ca/realtime's dist/index.mjs) that the demo page at /demo/
	// loads; FindDemoSDK finds the copy `make setup` installs. Empty: the
	// page loads the pinned release from a public CDN (DemoSDKURL), checked
	// by the browser against DemoSDKIntegrity. The page says which. DemoKey
	// is the publishable key the page joins with (pk_demo by default).
	DemoSDK string
	DemoKey string
	// ICE, when set, mints the ICE servers every welcome carries
	// (welcome.metadata.iceServers), called once per connection with the
	// peer's id: short-lived TURN credentials, as the real service hands
	// out (turnserver.Server.ICEServers). Metadata a key or a token already
	// gives the welcome wins.
	ICE func(peerID string) []protocol.ICEServer

	devMode bool // Tenants was empty: set by applyDefaults
}

// RateLimit is a token bucket: Burst tokens, refilled at PerSecond. Types
// lists the frame types that take a token (default: every frame).
type RateLimit struct {
	PerSecond float64
	Burst     float64
	Types     []string
	Disabled  bool
}

// Tenant is one Metered app: its keys and its plan's limits.
type Tenant struct {
	ID              string
	PublishableKeys []PublishableKey
	SecretKeys      []SecretKey
	// MaxConnections is the concurrent-connection limit (0: none); more are
	// closed with 4010 before welcome.
	MaxConnections int
	// MessageQuota is the number of publish+send requests allowed (0: none);
	// more get over_message_quota.
	MessageQuota int
	// ICEServers are injected as welcome.metadata.iceServers for keys with
	// InjectICE (a JWT's own metadata.iceServers wins).
	ICEServers []protocol.ICEServer
	// Suspended closes every connection attempt with 4012.
	Suspended bool
}

// PublishableKey is a pk_… key and its dashboard scope.
type PublishableKey struct {
	Key             string
	ChannelPatterns []string // default ["**"]
	Actions         []string // default AllActions
	AllowedOrigins  []string // empty: any origin
	InjectICE       bool
}

// SecretKey signs JWTs (HS256, kid = ID) and authenticates REST calls as
// "Bearer ID:Secret".
type SecretKey struct {
	ID              string
	Secret          string
	ChannelPatterns []string // default ["**"]
	Actions         []string // default AllActions
	InjectICE       bool
}

func (o *Options) applyDefaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.DemoKey == "" {
		o.DemoKey = "pk_demo"
	}
	if len(o.Tenants) == 0 {
		key := SecretKey{ID: DevKeyID, Secret: DevKeySecret}
		if o.DevKey != nil {
			key = *o.DevKey
		}
		o.Tenants = []Tenant{{ID: DevTenantID, SecretKeys: []SecretKey{key}}}
		o.devMode = true
	}
	if o.MaxTokenLifetime == 0 {
		o.MaxTokenLifetime = 24 * time.Hour
	}
	if o.MaxPendingBytes == 0 {
		o.MaxPendingBytes = 4 << 20
	}
	if o.MaxPendingMessages == 0 {
		o.MaxPendingMessages = 16384
	}
	if o.MaxPendingTotal == 0 {
		o.MaxPendingTotal = 1 << 30
		if limit := debug.SetMemoryLimit(-1); limit > 0 && limit < math.MaxInt64 {
			o.MaxPendingTotal = limit / 4
		}
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = 10000
	}
	if o.MaxConnectionsPerKey == 0 {
		o.MaxConnectionsPerKey = 2000
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 15 * time.Second
	}
	if o.IdleUnsubscribed == 0 {
		o.IdleUnsubscribed = 2 * time.Minute
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = protocol.DefaultMaxMessageSize
	}
	if o.SizeMode == "" {
		o.SizeMode = "frame"
	}
	if o.PingInterval == 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.SnapshotDelay == 0 {
		o.SnapshotDelay = 5 * time.Millisecond
	}
	if o.SnapshotDelay < 0 {
		o.SnapshotDelay = 0
	}
	if o.RateLimit.PerSecond == 0 {
		o.RateLimit.PerSecond = 100
	}
	if o.RateLimit.Burst == 0 {
		o.RateLimit.Burst = 200
	}
	if o.ExpiryLead == 0 {
		o.ExpiryLead = 250 * time.Millisecond
	}
	if o.GoingAwayGrace == 0 {
		o.GoingAwayGrace = 100 * time.Millisecond
	}
}

// identity is what a credential grants one connection.
type identity struct {
	tenant       *tenantState
	peerID       string
	patterns     []string
	keyPatterns  []string // a JWT's signing key also bounds its channels
	actions      map[string]bool
	expiresAt    *float64
	closeAt      time.Time // JWTs: when the server closes with 4002 (zero: never)
	cred         string    // the credential, for MaxConnectionsPerKey
	metadata     json.RawMessage
	peerMetadata json.RawMessage
}

func (id *identity) may(action string) bool { return id.actions[action] }

func (id *identity) allowed(channel string) bool {
	return matchAny(id.patterns, channel) && (id.keyPatterns == nil || matchAny(id.keyPatterns, channel))
}

func matchAny(patterns []string, channel string) bool {
	for _, p := range patterns {
		if MatchChannel(p, channel) {
			return true
		}
	}
	return false
}

func actionSet(list []string) map[string]bool {
	if list == nil {
		list = AllActions
	}
	m := make(map[string]bool, len(list))
	for _, a := range list {
		m[a] = true
	}
	return m
}

func patternsOr(list []string) []string {
	if list == nil {
		return []string{"**"}
	}
	return list
}
