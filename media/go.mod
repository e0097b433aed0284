module github.com/metered-ca/realtime-go/media

go 1.24.0
