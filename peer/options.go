package peer

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/signalling"
)

// Options configure a MeteredPeer. The zero value of every field is a safe
// default; exactly one of APIKey and TokenProvider must be set. The
// signalling fields mean what they mean in signalling.Options (a
// MeteredPeer always re-subscribes after a reconnect, so that option is not
// offered).
type Options struct {
	// URL is the server origin, "wss://host[:port]" ("ws://" only for
	// localhost). Empty means wss://rms.metered.ca.
	URL string
	// APIKey is a publishable key (pk_…).
	APIKey string
	// TokenProvider mints a JWT before every connection attempt.
	TokenProvider signalling.TokenProvider
	// TokenProviderTimeout bounds each TokenProvider call (0: 10 s).
	TokenProviderTimeout time.Duration
	// Logger receives scrubbed diagnostics, pion's included (nil: discard).
	Logger *slog.Logger
	// Reconnect tunes the signalling reconnect ladder (zero: the JS SDK's).
	Reconnect signalling.ReconnectOptions
	// InactivityTimeout is the signalling watchdog (0: 60 s; negative: off).
	InactivityTimeout time.Duration
	// Header is added to the WebSocket handshake.
	Header http.Header
	// EventBuffer is the default size of the streams returned by Events
	// (0: 4096).
	EventBuffer int
	// MaxPendingEvents bounds the events waiting for the handlers of each
	// source (the MeteredPeer, each RemotePeer): 0 means 65536, negative
	// unbounded. Handlers of one source run one at a time, so a slow one
	// delays the later events of that source; past this bound new events
	// are dropped and counted (DroppedEvents), the slow-consumer rule of
	// nats.go. Hand long work to a goroutine of your own.
	MaxPendingEvents int

	// Configuration is the base of every peer connection's configuration.
	// ICE servers from the server's welcome replace its ICEServers when the
	// welcome carries any. With no Certificates, the MeteredPeer's
	// connections share one DTLS certificate (ECDSA P-256, renewed a day
	// before it expires) instead of making one each.
	Configuration webrtc.Configuration
	// SettingEngine, when set, is the base of the API's SettingEngine
	// (ports, NAT addresses, a network of your own such as pion's vnet);
	// its LoggerFactory, when nil, becomes Logger's. Ignored with API.
	SettingEngine *webrtc.SettingEngine
	// Bandwidth tunes each connection's send-side bandwidth estimator
	// (zero: start at 1 Mb/s, within 30 kb/s to 20 Mb/s).
	Bandwidth Bandwidth
	// API builds the peer connections; set it to use your own MediaEngine,
	// SettingEngine or interceptors. Nil: pion's default codecs less
	// H.264's packetization mode 0, pion's default interceptors, plus a send-side bandwidth estimator per connection
	// (Bandwidth) and the counters RemotePeer.Stats reads, with pion's logs
	// sent to Logger. With an API of your own, Stats reports the transport
	// only and no track adapts its bitrate.
	API *webrtc.API
}

func (o Options) signalling() signalling.Options {
	return signalling.Options{
		URL:                  o.URL,
		APIKey:               o.APIKey,
		TokenProvider:        o.TokenProvider,
		TokenProviderTimeout: o.TokenProviderTimeout,
		Logger:               o.Logger,
		Reconnect:            o.Reconnect,
		InactivityTimeout:    o.InactivityTimeout,
		Header:               o.Header,
		EventBuffer:          o.EventBuffer,
		MaxPendingEvents:     o.MaxPendingEvents,
	}
}

// JoinOption tunes Join.
type JoinOption func(*joinConfig)

type joinConfig struct {
	includeSenderMetadata bool
}

func (c joinConfig) subscribeOptions() []signalling.SubscribeOption {
	if c.includeSenderMetadata {
		return []signalling.SubscribeOption{signalling.WithSenderMetadata()}
	}
	return nil
}

// IncludeSenderMetadata asks the server to stamp broadcasts with their
// sender's peerMetadata (Data.SenderMetadata). Directs carry it anyway.
func IncludeSenderMetadata() JoinOption {
	return func(c *joinConfig) { c.includeSenderMetadata = true }
}
