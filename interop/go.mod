module github.com/metered-ca/realtime-go/interop

go 1.23
