package testserver

import (
	"encoding/json"
	"log/slog"
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
	// Tenants are the apps the server knows. Empty: one dev tenant with
	// DevKeyID/DevKeySecret and, unless StrictKeys, any pk_ key.
	Tenants []Tenant
	// StrictKeys refuses publishable keys that no tenant lists. Off (dev
	// mode): any key starting with "pk_" joins the first tenant with every
	// action on every non-reserved channel.
	StrictKeys bool
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
	// Logger receives diagnostics (nil: discard).
	Logger *slog.Logger
	// DemoSDK is the path of the official JS SDK's ES module
	// (@metered-ca/realtime's dist/index.mjs) that the demo page at /demo/
	// loads; FindDemoSDK finds the copy `make setup` installs. Empty: the
	// page loads the pinned release from a public CDN (DemoSDKURL), checked
	// by the browser against DemoSDKIntegrity. The page says which. DemoKey
	// is the publishable key the page joins with (pk_demo by default).
	DemoSDK string
	DemoKey string
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
		o.Tenants = []Tenant{{ID: DevTenantID, SecretKeys: []SecretKey{{ID: DevKeyID, Secret: DevKeySecret}}}}
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
