package protocol

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The expected bytes are what JSON.stringify produces in the JS SDK 1.2.0
// builders for the same inputs (key order, optional keys, escaping).
func TestMarshalClientMatchesJSBytes(t *testing.T) {
	cases := []struct {
		name  string
		frame ClientFrame
		want  string
	}{
		{"subscribe", &Subscribe{Channel: "room-42", RequestID: "r1"}, `{"type":"subscribe","channel":"room-42","requestId":"r1"}`},
		{"subscribe meta", &Subscribe{Channel: "room-42", RequestID: "r1", IncludeSenderMetadata: true}, `{"type":"subscribe","channel":"room-42","requestId":"r1","includeSenderMetadata":true}`},
		{"subscribe no id", &Subscribe{Channel: "a"}, `{"type":"subscribe","channel":"a"}`},
		{"unsubscribe", &Unsubscribe{Channel: "room-42", RequestID: "r2"}, `{"type":"unsubscribe","channel":"room-42","requestId":"r2"}`},
		{"publish", &Publish{Channel: "room-42", Data: json.RawMessage(`{"hello":"world"}`), RequestID: "r3"}, `{"type":"publish","channel":"room-42","data":{"hello":"world"},"requestId":"r3"}`},
		{"publish null", &Publish{Channel: "c", Data: json.RawMessage(`null`), RequestID: "r"}, `{"type":"publish","channel":"c","data":null,"requestId":"r"}`},
		{"send", &Send{To: "bob", Data: json.RawMessage(`[1,2]`), RequestID: "r4"}, `{"type":"send","to":"bob","data":[1,2],"requestId":"r4"}`},
		{"ping", &Ping{}, `{"type":"ping"}`},
		{"escapes like JSON.stringify", &Subscribe{Channel: "a\"b\\c<d>&e\u2028é😀", RequestID: "x"}, "{\"type\":\"subscribe\",\"channel\":\"a\\\"b\\\\c<d>&e\u2028é😀\",\"requestId\":\"x\"}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MarshalClient(tc.frame)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}

func TestMarshalClientValidates(t *testing.T) {
	long := make([]byte, 257)
	for i := range long {
		long[i] = 'a'
	}
	cases := []struct {
		frame ClientFrame
		code  ErrorCode
	}{
		{&Subscribe{Channel: ""}, CodeInvalidChannel},
		{&Subscribe{Channel: string(long)}, CodeInvalidChannel},
		{&Subscribe{Channel: "a\x01"}, CodeInvalidChannel},
		{&Subscribe{Channel: "a\u0085"}, CodeInvalidChannel},
		{&Subscribe{Channel: "_Metered/x"}, CodeChannelReserved},
		{&Publish{Channel: "_SYSTEM/x", Data: json.RawMessage("1")}, CodeChannelReserved},
		{&Publish{Channel: "c"}, CodeMissingData},
		{&Publish{Channel: "c", Data: json.RawMessage("{")}, CodeMissingData},
		{&Send{To: "", Data: json.RawMessage("1")}, CodeInvalidPeerID},
		{&Send{To: "a\x7f", Data: json.RawMessage("1")}, CodeInvalidPeerID},
		{&Subscribe{Channel: "c", RequestID: string(long[:129])}, CodeMalformedMessage},
	}
	for _, tc := range cases {
		_, err := MarshalClient(tc.frame)
		var ve *ValidationError
		require.True(t, errors.As(err, &ve), "%#v", tc.frame)
		assert.Equal(t, tc.code, ve.Code, "%#v", tc.frame)
	}
	// 256 UTF-16 units pass even when they are more than 256 bytes.
	wide := ""
	for i := 0; i < 256; i++ {
		wide += "é"
	}
	_, err := MarshalClient(&Subscribe{Channel: wide})
	assert.NoError(t, err)
	// A character outside the BMP counts as two units, as in JS.
	astral := ""
	for i := 0; i < 129; i++ {
		astral += "😀"
	}
	_, err = MarshalClient(&Subscribe{Channel: astral})
	assert.Error(t, err)
}

func TestMarshalServerRoundTrips(t *testing.T) {
	exp := 1715539200.0
	frames := []ServerFrame{
		&Welcome{PeerID: "alice", ExpiresAt: &exp, ServerTime: 1715535600, MaxMessageSize: 65536, Metadata: json.RawMessage(`{"iceServers":[]}`)},
		&Welcome{PeerID: "p", ServerTime: 1, MaxMessageSize: 2},
		&Ack{RequestID: "r"},
		&Error{Code: "peer_not_found", RequestID: "r", Message: "no such peer"},
		&Error{Code: "over_message_quota"},
		&Message{Channel: "c", From: "a", Data: json.RawMessage(`{"x":1}`), FromMetadata: json.RawMessage(`{"n":"A"}`)},
		&Direct{From: "a", Data: json.RawMessage(`null`)},
		&Presence{Channel: "c", Joined: []PresencePeer{{PeerID: "a", Metadata: json.RawMessage(`{"k":"v"}`)}}, Left: []PresencePeer{}},
		&GoingAway{RetryAfterMs: 2500},
		&Pong{},
	}
	for _, f := range frames {
		b := MarshalServer(f)
		got, err := ParseServer(b)
		require.NoError(t, err, string(b))
		assert.Equal(t, f, got, string(b))
	}
	assert.Equal(t, `{"type":"welcome","peerId":"p","expiresAt":null,"serverTime":1,"maxMessageSize":2}`, string(MarshalServer(frames[1])))
	assert.Equal(t, `{"type":"presence","channel":"c","joined":[],"left":[]}`, string(MarshalServer(&Presence{Channel: "c"})))
}

func TestMarshalData(t *testing.T) {
	b, err := MarshalData(map[string]any{"html": "<a&b>"})
	require.NoError(t, err)
	assert.Equal(t, `{"html":"<a&b>"}`, string(b))
	b, err = MarshalData(json.RawMessage(" { \"a\" : [1, 2] } "))
	require.NoError(t, err)
	assert.Equal(t, `{"a":[1,2]}`, string(b))
	_, err = MarshalData(json.RawMessage("{"))
	assert.Error(t, err)
	_, err = MarshalData(func() {})
	assert.Error(t, err)
}
