module github.com/metered-ca/realtime-go/interop

go 1.24.0

replace (
	github.com/metered-ca/realtime-go/protocol => ../protocol
	github.com/metered-ca/realtime-go/signalling => ../signalling
	github.com/metered-ca/realtime-go/testserver => ../testserver
)

require (
	github.com/metered-ca/realtime-go/protocol v0.0.0
	github.com/metered-ca/realtime-go/signalling v0.0.0-00010101000000-000000000000
	github.com/metered-ca/realtime-go/testserver v0.0.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
