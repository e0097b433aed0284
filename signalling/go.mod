module github.com/metered-ca/realtime-go/signalling

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	github.com/metered-ca/realtime-go/protocol v0.1.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

require github.com/metered-ca/realtime-go/testserver v0.1.0
