module github.com/metered-ca/realtime-go/examples

go 1.23
