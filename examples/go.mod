module github.com/metered-ca/realtime-go/examples

go 1.24.0

require (
	github.com/metered-ca/realtime-go/signalling v0.0.0
	github.com/metered-ca/realtime-go/testserver v0.0.0
)

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/metered-ca/realtime-go/protocol v0.0.0 // indirect
)

replace (
	github.com/metered-ca/realtime-go/protocol => ../protocol
	github.com/metered-ca/realtime-go/signalling => ../signalling
	github.com/metered-ca/realtime-go/testserver => ../testserver
)
