package protocol

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each input below is one that the JS SDK's parseServerFrame drops as
// malformed; ParseServer must reject it too.
func TestParseServerRejectsWhatJSRejects(t *testing.T) {
	bad := []string{
		``, `nope`, `[]`, `"welcome"`, `null`, `{}`, `{"type":1}`, `{"Type":"pong"}`,
		`{"type":"welcome","peerId":"a","serverTime":1,"maxMessageSize":1}`,                 // expiresAt missing
		`{"type":"welcome","peerId":"a","expiresAt":"1","serverTime":1,"maxMessageSize":1}`, // expiresAt string
		`{"type":"welcome","peerId":"a","expiresAt":null,"serverTime":"1","maxMessageSize":1}`,
		`{"type":"welcome","peerId":"a","expiresAt":null,"serverTime":1}`,
		`{"type":"welcome","peerId":"a","expiresAt":null,"serverTime":1e999,"maxMessageSize":1}`,
		`{"type":"welcome","expiresAt":null,"serverTime":1,"maxMessageSize":1}`,
		`{"type":"welcome","peerId":null,"expiresAt":null,"serverTime":1,"maxMessageSize":1}`,
		`{"type":"ack"}`, `{"type":"ack","requestId":5}`,
		`{"type":"error"}`, `{"type":"error","code":""}`, `{"type":"error","code":7}`,
		`{"type":"message","channel":"c","from":"a"}`,
		`{"type":"message","channel":"c","data":1}`,
		`{"type":"message","from":"a","data":1}`,
		`{"type":"direct","from":"a"}`, `{"type":"direct","data":1}`,
		`{"type":"presence","channel":"c","joined":[]}`,
		`{"type":"presence","channel":"c","left":[]}`,
		`{"type":"presence","channel":"c","joined":{},"left":[]}`,
		`{"type":"presence","channel":"c","joined":[{"metadata":{}}],"left":[]}`,
		`{"type":"presence","channel":"c","joined":[5],"left":[]}`,
		`{"type":"presence","joined":[],"left":[]}`,
		`{"type":"surprise"}`,
	}
	for _, in := range bad {
		_, err := ParseServer([]byte(in))
		var me *MalformedError
		assert.True(t, errors.As(err, &me), "accepted %q", in)
	}
}

func TestParseServerLeniencyMatchesJS(t *testing.T) {
	// Unknown extra keys are ignored; non-object metadata is dropped, not fatal.
	f, err := ParseServer([]byte(`{"type":"welcome","peerId":"a","expiresAt":null,"serverTime":1.5,"maxMessageSize":65536,"metadata":[1],"extra":true}`))
	require.NoError(t, err)
	w := f.(*Welcome)
	assert.Nil(t, w.ExpiresAt)
	assert.Nil(t, w.Metadata)
	assert.Equal(t, 1.5, w.ServerTime)

	f, err = ParseServer([]byte(`{"type":"message","channel":"c","from":"a","data":null,"fromMetadata":"x"}`))
	require.NoError(t, err)
	assert.Equal(t, "null", string(f.(*Message).Data))
	assert.Nil(t, f.(*Message).FromMetadata)

	f, err = ParseServer([]byte(`{"type":"presence","channel":"c","joined":[{"peerId":"a","metadata":null}],"left":[]}`))
	require.NoError(t, err)
	assert.Equal(t, []PresencePeer{{PeerID: "a"}}, f.(*Presence).Joined)

	for in, want := range map[string]float64{
		`{"type":"going_away"}`:                    1000,
		`{"type":"going_away","retryAfterMs":0}`:   1000,
		`{"type":"going_away","retryAfterMs":-5}`:  1000,
		`{"type":"going_away","retryAfterMs":"9"}`: 1000,
		`{"type":"going_away","retryAfterMs":250}`: 250,
	} {
		f, err := ParseServer([]byte(in))
		require.NoError(t, err)
		assert.Equal(t, want, f.(*GoingAway).RetryAfterMs, in)
	}

	// Duplicate keys: the last one wins, as in JSON.parse.
	f, err = ParseServer([]byte(`{"type":"ack","requestId":"a","requestId":"b"}`))
	require.NoError(t, err)
	assert.Equal(t, "b", f.(*Ack).RequestID)

	f, err = ParseServer([]byte(`{"type":"error","code":"future_code","requestId":"","message":3}`))
	require.NoError(t, err)
	assert.Equal(t, &Error{Code: "future_code"}, f)
}

func TestParseClient(t *testing.T) {
	ok := map[string]ClientFrame{
		`{"type":"subscribe","channel":"room","requestId":"1","includeSenderMetadata":true}`: &Subscribe{Channel: "room", RequestID: "1", IncludeSenderMetadata: true},
		`{"type":"unsubscribe","channel":"room"}`:                                            &Unsubscribe{Channel: "room"},
		`{"type":"publish","channel":"c","data":null,"requestId":"2"}`:                       &Publish{Channel: "c", Data: []byte("null"), RequestID: "2"},
		`{"type":"send","to":"bob","data":{"a":1}}`:                                          &Send{To: "bob", Data: []byte(`{"a":1}`)},
		`{"type":"ping"}`: &Ping{},
	}
	for in, want := range ok {
		got, err := ParseClient([]byte(in))
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	bad := []struct {
		in    string
		code  ErrorCode
		reqID string
	}{
		{`not json`, CodeMalformedMessage, ""},
		{`[1]`, CodeMalformedMessage, ""},
		{`{"requestId":"9"}`, CodeMalformedMessage, ""},
		{`{"type":"dance","requestId":"9"}`, CodeUnknownType, "9"},
		{`{"type":"subscribe","channel":"","requestId":"9"}`, CodeInvalidChannel, "9"},
		{`{"type":"subscribe","channel":5,"requestId":"9"}`, CodeInvalidChannel, "9"},
		{`{"type":"subscribe","channel":"_Internal/x","requestId":"9"}`, CodeChannelReserved, "9"},
		{`{"type":"publish","channel":"c","requestId":"9"}`, CodeMissingData, "9"},
		{`{"type":"send","to":"bö","data":1,"requestId":"9"}`, CodeInvalidPeerID, "9"},
		{`{"type":"send","to":"b","requestId":"9"}`, CodeMissingData, "9"},
		{`{"type":"ping","requestId":7}`, CodeMalformedMessage, ""},
	}
	for _, tc := range bad {
		_, err := ParseClient([]byte(tc.in))
		var fe *FrameError
		require.True(t, errors.As(err, &fe), tc.in)
		assert.Equal(t, tc.code, fe.Code, tc.in)
		assert.Equal(t, tc.reqID, fe.RequestID, tc.in)
	}
}

func TestParseClientServerLimitsAreBytes(t *testing.T) {
	ch := ""
	for i := 0; i < 129; i++ {
		ch += "é" // 258 bytes, 129 UTF-16 units: the client allows it, the server does not
	}
	_, err := MarshalClient(&Subscribe{Channel: ch})
	require.NoError(t, err)
	_, err = ParseClient([]byte(`{"type":"subscribe","channel":"` + ch + `"}`))
	var fe *FrameError
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, CodeInvalidChannel, fe.Code)
}
