module github.com/metered-ca/realtime-go/examples

go 1.26.0

require (
	github.com/metered-ca/realtime-go/media v0.1.0
	github.com/metered-ca/realtime-go/peer v0.1.0
	github.com/metered-ca/realtime-go/signalling v0.1.0
	github.com/metered-ca/realtime-go/testserver v0.1.0
	github.com/pion/webrtc/v4 v4.2.26
)

require (
	github.com/asticode/go-astiav v0.16.0 // indirect
	github.com/asticode/go-astikit v0.42.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/metered-ca/realtime-go/protocol v0.1.0 // indirect
	github.com/pion/datachannel v1.6.3 // indirect
	github.com/pion/dtls/v3 v3.1.15 // indirect
	github.com/pion/ice/v4 v4.4.8 // indirect
	github.com/pion/interceptor v0.1.51 // indirect
	github.com/pion/logging v0.2.4 // indirect
	github.com/pion/mdns/v2 v2.2.2 // indirect
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/rtcp v1.2.20 // indirect
	github.com/pion/rtp v1.10.6 // indirect
	github.com/pion/sctp v1.12.0 // indirect
	github.com/pion/sdp/v3 v3.0.20 // indirect
	github.com/pion/srtp/v3 v3.1.3 // indirect
	github.com/pion/stun/v4 v4.0.1 // indirect
	github.com/pion/transport/v5 v5.1.4 // indirect
	github.com/pion/turn/v5 v5.1.3 // indirect
	github.com/wlynxg/anet v0.0.5 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/net v0.63.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/time v0.14.0 // indirect
)

replace (
	// agent is not required here: replaced for the workspace, as the
	// others are, so that the doc snippets' requirement of it resolves.
	github.com/metered-ca/realtime-go/agent => ../agent
	github.com/metered-ca/realtime-go/media => ../media
	github.com/metered-ca/realtime-go/peer => ../peer
	github.com/metered-ca/realtime-go/protocol => ../protocol
	github.com/metered-ca/realtime-go/signalling => ../signalling
	github.com/metered-ca/realtime-go/testserver => ../testserver
)
