package protocol

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeBaseURL(t *testing.T) {
	good := map[string]string{
		"":                        "wss://rms.metered.ca",
		"wss://RMS.Example.com":   "wss://rms.example.com",
		"wss://h/":                "wss://h",
		"wss://h:443":             "wss://h",
		"wss://h:8443/":           "wss://h:8443",
		"ws://localhost:9292":     "ws://localhost:9292",
		"ws://127.0.0.1:80":       "ws://127.0.0.1",
		"ws://[::1]:9000":         "ws://[::1]:9000",
		"WSS://h":                 "wss://h",
		"wss://h?":                "wss://h",
		"wss://user:pass@h:1234/": "wss://h:1234",
	}
	for in, want := range good {
		got, err := NormalizeBaseURL(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"ws://example.com", "https://h", "http://localhost", "wss://h/v1", "wss://h/?key=pk_live_secret", "wss://h#f", "not a url", "wss://", "//h", "wss:h"} {
		_, err := NormalizeBaseURL(in)
		require.Error(t, err, in)
		assert.NotContains(t, err.Error(), "pk_live_secret")
	}
}

func TestConnectURLUsesEncodeURIComponent(t *testing.T) {
	u, err := ConnectURL("wss://h", Credential{"key", "pk_live_AZaz09-_.!~*'() +/?&=é"})
	require.NoError(t, err)
	assert.Equal(t, "wss://h/v1?key=pk_live_AZaz09-_.!~*'()%20%2B%2F%3F%26%3D%C3%A9", u)
	_, err = ConnectURL("wss://h", Credential{"secret", "x"})
	assert.Error(t, err)
}

func TestExtractICEServers(t *testing.T) {
	s, ok := ExtractICEServers(json.RawMessage(`{"iceServers":[{"urls":"stun:s.example:3478"},{"urls":["turn:t.example","TURNS:t.example:443"],"username":"u","credential":"c"},{"urls":"stun:x","username":5}]}`))
	require.True(t, ok)
	assert.Equal(t, []ICEServer{{URLs: []string{"stun:s.example:3478"}}, {URLs: []string{"turn:t.example", "TURNS:t.example:443"}, Username: "u", Credential: "c"}, {URLs: []string{"stun:x"}}}, s)
	assert.NotContains(t, s[1].String(), "\"c\"")

	long := strings.Repeat("x", 1025)
	many := "[" + strings.Repeat(`{"urls":"stun:a"},`, 16) + `{"urls":"stun:a"}]`
	for _, in := range []string{
		`null`, `[]`, `{}`, `{"iceServers":{}}`, `{"iceServers":` + many + `}`,
		`{"iceServers":[{"urls":"http://x"}]}`, `{"iceServers":[{"urls":[]}]}`, `{"iceServers":[{"urls":["stun:a",1]}]}`,
		`{"iceServers":[{"urls":"stun:a","credential":"` + long + `"}]}`, `{"iceServers":[5]}`,
		`{"iceServers":[{"urls":"stun:` + strings.Repeat("a", 512) + `"}]}`,
	} {
		_, ok := ExtractICEServers(json.RawMessage(in))
		assert.False(t, ok, in)
	}
}

func TestScrub(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiIsImtpZCI6InNrX2lkXzEifQ.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
	cases := []string{
		"dial wss://h/v1?token=" + jwt + ": refused",
		"dial wss://h/v1?key=pk_live_abc123&x=1",
		"a=ice-pwd:S3cretPwd\r\na=ice-ufrag:Ufr4g",
		`{"urls":"turn:x","username":"U5er","credential":"Cr3d"}`,
		"Authorization: Bearer sk_id_1:sk_secret_Zzz",
		"token " + jwt,
		"api key pk_live_abc123 rejected",
		"credential=Cr3d; password = 'Pa55'",
	}
	secrets := []string{jwt, "pk_live_abc123", "abc123", "S3cretPwd", "Ufr4g", "U5er", "Cr3d", "sk_secret_Zzz", "Zzz", "Pa55"}
	for _, in := range cases {
		out := Scrub(in)
		for _, s := range secrets {
			assert.NotContains(t, out, s, "%q -> %q", in, out)
		}
		assert.Equal(t, out, Scrub(out), "idempotent")
	}
	assert.Equal(t, "usernameFragment kept; nothing secret here", Scrub("usernameFragment kept; nothing secret here"))
	err := ScrubError(assert.AnError)
	assert.Equal(t, assert.AnError, err)
	assert.NotContains(t, ScrubError(errString("bad ?key=pk_live_x")).Error(), "pk_live_x")
}

type errString string

func (e errString) Error() string { return string(e) }

func TestMarshalDataRefusesInvalidUTF8(t *testing.T) {
	_, err := MarshalData(json.RawMessage("\"\xff\xfe\""))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "UTF-8")
	raw, err := MarshalData(nil)
	require.NoError(t, err)
	assert.Equal(t, "null", string(raw))
}

func TestCloseCodeTable(t *testing.T) {
	assert.Equal(t, "invalid_token", CloseInvalidToken.String())
	assert.Equal(t, "close_4999", CloseCode(4999).String())
	for _, c := range []CloseCode{CloseInvalidToken, CloseChannelNotAuthorized, CloseAccountSuspended, CloseAdminDisconnect} {
		assert.True(t, c.Terminal(), c)
		assert.True(t, c.Fatal(), c)
	}
	assert.False(t, CloseTokenExpired.Terminal())
	assert.True(t, CloseTokenExpired.Fatal())
	assert.False(t, CloseGoingAway.Fatal())
	assert.True(t, CloseOverConcurrentLimit.SlowBackoff())
	assert.True(t, CodeActionNotPermitted.Fatal())
	assert.False(t, CodePeerNotFound.Fatal())
}
