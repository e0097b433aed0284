module github.com/metered-ca/realtime-go/peer

go 1.24
