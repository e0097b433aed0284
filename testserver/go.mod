module github.com/metered-ca/realtime-go/testserver

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	github.com/metered-ca/realtime-go/protocol v0.1.0
	github.com/pion/logging v0.2.4
	github.com/pion/turn/v5 v5.1.3
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/pion/dtls/v3 v3.1.9 // indirect
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/stun/v4 v4.0.1 // indirect
	github.com/pion/transport/v5 v5.1.1 // indirect
	github.com/wlynxg/anet v0.0.5 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
