module github.com/metered-ca/realtime-go/signalling

go 1.23
