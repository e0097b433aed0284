package protocol_test

import (
	"errors"
	"fmt"

	"github.com/metered-ca/realtime-go/protocol"
)

// A frame from the server, parsed and validated in one pass.
func ExampleParseServer() {
	f, err := protocol.ParseServer([]byte(`{"type":"message","channel":"lobby","from":"p1","data":{"text":"hi"}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	if m, ok := f.(*protocol.Message); ok {
		fmt.Printf("%s in %s: %s\n", m.From, m.Channel, m.Data)
	}
	// Output: p1 in lobby: {"text":"hi"}
}

// A malformed frame is an error that says what is wrong, never a panic.
func ExampleParseServer_malformed() {
	_, err := protocol.ParseServer([]byte(`{"type":"message","channel":42}`))
	var me *protocol.MalformedError
	fmt.Println(errors.As(err, &me), err)
	// Output: true protocol: malformed frame: message.channel missing or not a string
}

// A frame to the server, with its fields in the JS SDK's order.
func ExampleMarshalClient() {
	data, err := protocol.MarshalData(map[string]string{"text": "hello"})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := protocol.MarshalClient(&protocol.Publish{Channel: "lobby", Data: data, RequestID: "r1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output: {"type":"publish","channel":"lobby","data":{"text":"hello"},"requestId":"r1"}
}

// The URL a client connects to, its credential escaped as JavaScript's
// encodeURIComponent does.
func ExampleConnectURL() {
	u, err := protocol.ConnectURL("wss://rms.metered.ca", protocol.Credential{Param: "key", Value: "pk_live abc"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(protocol.Scrub(u))
	// Output: wss://rms.metered.ca/v1?key=***
}

// Close codes carry the JS SDK's names and what a client should do.
func ExampleCloseCode() {
	for _, c := range []protocol.CloseCode{4001, 4010, 1006} {
		fmt.Println(int(c), c, "terminal:", c.Terminal())
	}
	// Output:
	// 4001 invalid_token terminal: true
	// 4010 over_concurrent_limit terminal: false
	// 1006 abnormal terminal: false
}

// Validation refuses what the server would (empty, control characters,
// reserved prefixes), with a typed error.
func ExampleValidateChannel() {
	for _, ch := range []string{"lobby", "", "bad\x01name", "_system/jobs"} {
		err := protocol.ValidateChannel(ch)
		var ve *protocol.ValidationError
		fmt.Printf("%q valid: %v, typed: %v\n", ch, err == nil, errors.As(err, &ve))
	}
	// Output:
	// "lobby" valid: true, typed: false
	// "" valid: false, typed: true
	// "bad\x01name" valid: false, typed: true
	// "_system/jobs" valid: false, typed: true
}
