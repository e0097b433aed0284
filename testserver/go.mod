module github.com/metered-ca/realtime-go/testserver

go 1.23
