package protocol

import (
	"strings"
	"testing"
)

// A 1 KB message frame as the server relays one (the signalling
// benchmark's payload).
var benchMessage = []byte(`{"type":"message","channel":"sig-go-0-flood","from":"u1","data":{"seq":12345,"pad":"` +
	strings.Repeat("x", 1000) + `"},"fromMetadata":{"name":"bench"}}`)

func BenchmarkParseServerMessage(b *testing.B) {
	b.SetBytes(int64(len(benchMessage)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseServer(benchMessage); err != nil {
			b.Fatal(err)
		}
	}
}
