package protocol

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

var serverSeeds = []string{
	`{"type":"welcome","peerId":"alice","expiresAt":1715539200,"serverTime":1715535600,"maxMessageSize":65536,"metadata":{"iceServers":[{"urls":"stun:a"}]}}`,
	`{"type":"welcome","peerId":"a","expiresAt":null,"serverTime":1,"maxMessageSize":65536}`,
	`{"type":"ack","requestId":"r"}`,
	`{"type":"error","requestId":"r","code":"peer_not_found","message":"m"}`,
	`{"type":"message","channel":"c","from":"a","data":{"x":[1,2,"3"]},"fromMetadata":{"n":1}}`,
	`{"type":"direct","from":"a","data":null}`,
	`{"type":"presence","channel":"c","joined":[{"peerId":"a","metadata":{}}],"left":[]}`,
	`{"type":"going_away","retryAfterMs":1000}`,
	`{"type":"pong"}`, `[]`, `{`, `{"type":"x"}`,
}

// FuzzParseServer: never panics, and whatever it accepts re-encodes to a
// frame that parses to the same value.
func FuzzParseServer(f *testing.F) {
	for _, s := range serverSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseServer(b)
		if err != nil {
			return
		}
		again, err := ParseServer(MarshalServer(fr))
		if err != nil {
			t.Fatalf("re-encoded frame rejected: %v", err)
		}
		if !bytes.Equal(MarshalServer(again), MarshalServer(fr)) {
			t.Fatalf("round trip changed the frame")
		}
	})
}

// FuzzParseClient: never panics; accepted frames re-encode (when they pass
// the client rules) to something the server parses the same way.
func FuzzParseClient(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","channel":"room","requestId":"1","includeSenderMetadata":true}`,
		`{"type":"unsubscribe","channel":"room","requestId":"2"}`,
		`{"type":"publish","channel":"c","data":{"a":[1,null]},"requestId":"3"}`,
		`{"type":"send","to":"bob","data":"x","requestId":"4"}`,
		`{"type":"ping"}`, `{"type":"nope","requestId":"5"}`, `nope`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseClient(b)
		if err != nil {
			return
		}
		enc, err := MarshalClient(fr)
		if err != nil {
			return // server rules (bytes) and client rules (UTF-16 units) differ
		}
		again, err := ParseClient(enc)
		if err != nil {
			t.Fatalf("re-encoded %q rejected: %v", enc, err)
		}
		if again.FrameType() != fr.FrameType() || again.ReqID() != fr.ReqID() {
			t.Fatalf("round trip changed the frame")
		}
	})
}

// FuzzExtractICEServers: never panics; accepted lists respect every cap.
func FuzzExtractICEServers(f *testing.F) {
	f.Add([]byte(`{"iceServers":[{"urls":["turn:a"],"username":"u","credential":"c"}]}`))
	f.Add([]byte(`{"iceServers":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := ExtractICEServers(json.RawMessage(b))
		if !ok {
			return
		}
		if len(s) > MaxICEServers {
			t.Fatal("too many servers")
		}
		for _, e := range s {
			if len(e.URLs) == 0 {
				t.Fatal("server without URLs")
			}
		}
	})
}

// FuzzScrub: idempotent and never panics.
func FuzzScrub(f *testing.F) {
	f.Add("wss://h/v1?token=eyJa.eyJb.c a=ice-pwd:x")
	f.Fuzz(func(t *testing.T, s string) {
		once := Scrub(s)
		if Scrub(once) != once {
			t.Fatalf("not idempotent: %q", s)
		}
	})
}

// FuzzDecodeObject: the one-pass reader behind every parse (and validJSON,
// which checks what is published) agrees with encoding/json on what is
// valid JSON and, for objects, on every member
// (the last of duplicate keys winning).
func FuzzDecodeObject(f *testing.F) {
	for _, s := range append(serverSeeds,
		`{"a":1,"a":2}`, `{"\u0074ype":"x"}`, `[1,{"a":[]}]`, `{"a":"\t"}`, `{"a":"\u00e9\"\\"}`,
		`{"n":-0.5e+10}`, `{"n":01}`, `{"n":1.}`, `{} x`, ` {"a" : true , "b":null } `, `"s"`, `{"a":tru}`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m members
		isObj, valid := readObject(b, &m)
		if valid != json.Valid(b) {
			t.Fatalf("valid %v, encoding/json says %v: %q", valid, !valid, b)
		}
		if validJSON(b) != valid {
			t.Fatalf("validJSON %v, readObject %v: %q", !valid, valid, b)
		}
		if !valid || !isObj || !utf8.Valid(b) {
			return // encoding/json rewrites invalid UTF-8 in keys; frames are checked first
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("read as an object, encoding/json says %v: %q", err, b)
		}
		got, ok := DecodeObject(b)
		if !ok || len(got) != len(want) {
			t.Fatalf("members %v, want %v", got, want)
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("member %q is %q, want %q", k, got[k], v)
			}
		}
	})
}
