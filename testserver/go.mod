module github.com/metered-ca/realtime-go/testserver

go 1.23

require (
	github.com/gorilla/websocket v1.5.3
	github.com/metered-ca/realtime-go/protocol v0.0.0
)

replace github.com/metered-ca/realtime-go/protocol => ../protocol
