package peer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each case mirrors the JS SDK's isRtcSignal / isTrackMetaMessage.
func TestClassifyDirectMatchesJS(t *testing.T) {
	t.Parallel()
	cases := map[string]directKind{
		`{"type":"rtc-description","description":{"type":"offer","sdp":"v=0"}}`: directDescription,
		`{"type":"rtc-description","description":{"type":"answer","sdp":""}}`:   directDescription,
		`{"type":"rtc-description","description":{"type":"rollback","sdp":""}}`: directData,
		`{"type":"rtc-description","description":{"type":"pranswer","sdp":""}}`: directData,
		`{"type":"rtc-description","description":{"type":"offer"}}`:             directData,
		`{"type":"rtc-description","description":null}`:                         directData,
		`{"type":"rtc-description"}`:                                            directData,
		`{"type":"rtc-ice","candidate":null}`:                                   directICE,
		`{"type":"rtc-ice","candidate":{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}}`: directICE,
		`{"type":"rtc-ice","candidate":[]}`:                                    directICE,
		`{"type":"rtc-ice","candidate":"x"}`:                                   directData,
		`{"type":"rtc-ice"}`:                                                   directData,
		`{"__meteredTrackMeta":{"trackId":"t1","metadata":{"role":"camera"}}}`: directTrackMeta,
		`{"__meteredTrackMeta":{"trackId":"t1"}}`:                              directTrackMeta,
		`{"__meteredTrackMeta":{"trackId":"t1","metadata":[1]}}`:               directBadTrackMeta,
		`{"__meteredTrackMeta":{"trackId":"t1","metadata":null}}`:              directBadTrackMeta,
		`{"__meteredTrackMeta":{"trackId":""}}`:                                directBadTrackMeta,
		`{"__meteredTrackMeta":"x"}`:                                           directBadTrackMeta,
		`{"hello":"world"}`:                                                    directData, `null`: directData, `[1]`: directData, `"rtc-ice"`: directData, `42`: directData,
		`{"Type":"rtc-ice","candidate":null}`: directData,
	}
	for in, want := range cases {
		assert.Equal(t, want, classifyDirect(json.RawMessage(in)).kind, in)
	}
	c := classifyDirect(json.RawMessage(`{"type":"rtc-ice","candidate":[]}`))
	assert.ErrorIs(t, c.candidateErr, errBadCandidate)
	c = classifyDirect(json.RawMessage(`{"__meteredTrackMeta":{"trackId":"t1"}}`))
	assert.Nil(t, c.metadata, "a clear carries no metadata")
}

func TestSignalShapesMatchJS(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(newDescriptionSignal(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: "v=0\r\n"}))
	require.NoError(t, err)
	assert.Equal(t, `{"type":"rtc-description","description":{"type":"offer","sdp":"v=0\r\n"}}`, string(b))
	b, _ = json.Marshal(newICESignal(nil))
	assert.Equal(t, `{"type":"rtc-ice","candidate":null}`, string(b))
	b, _ = json.Marshal(trackMetaSignal{Meta: trackMetaBody{TrackID: "t", Metadata: json.RawMessage(`{"role":"mic"}`)}})
	assert.Equal(t, `{"__meteredTrackMeta":{"trackId":"t","metadata":{"role":"mic"}}}`, string(b))
	b, _ = json.Marshal(trackMetaSignal{Meta: trackMetaBody{TrackID: "t"}})
	assert.Equal(t, `{"__meteredTrackMeta":{"trackId":"t"}}`, string(b), "clear: the metadata key is absent")
}

func TestPolitenessIsUTF16Order(t *testing.T) {
	t.Parallel()
	assert.True(t, politeTowards("alice", "bob"))
	assert.False(t, politeTowards("bob", "alice"))
	assert.False(t, politeTowards("a", "a"))
	assert.True(t, politeTowards("a", "ab"))
	// U+FF5E sorts after U+1F600 in UTF-8 bytes but before it in UTF-16 units
	// (0xFF5E < 0xD83D is false: 0xD83D < 0xFF5E), as JS compares.
	assert.True(t, politeTowards("\U0001F600", "\uFF5E"), "JS: '\\u{1F600}' < '\\uFF5E'")
	assert.False(t, "\U0001F600" < "\uFF5E", "Go's byte order says the opposite")
	assert.Equal(t, 0, compareUTF16("\U0001F600x", "\U0001F600x"))
	assert.Equal(t, -1, compareUTF16("\U0001F600", "\U0001F601"))
}

func TestMetaCacheFIFO(t *testing.T) {
	t.Parallel()
	var c metaCache
	for i := 0; i < MaxTrackMetadataEntries+10; i++ {
		c.set(fmt.Sprint("t", i), json.RawMessage(`{"i":1}`))
	}
	assert.Len(t, c.bags, MaxTrackMetadataEntries)
	assert.Nil(t, c.get("t0"), "oldest evicted")
	assert.NotNil(t, c.get("t10"))
	c.set("t10", json.RawMessage(`{"role":"x"}`)) // update in place: no eviction
	assert.Len(t, c.bags, MaxTrackMetadataEntries)
	assert.Equal(t, StreamMetadata{"role": "x"}, c.get("t10"))
	c.set("t10", nil)
	assert.Nil(t, c.get("t10"))
	assert.Len(t, c.order, MaxTrackMetadataEntries-1)
}

// FuzzClassifyDirect: any peer-supplied payload is classified without
// panicking, and a payload the classifier calls data never holds a usable
// signal shape.
func FuzzClassifyDirect(f *testing.F) {
	for _, s := range []string{
		`{"type":"rtc-description","description":{"type":"offer","sdp":"v=0"}}`,
		`{"type":"rtc-ice","candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"rtc-ice","candidate":null}`,
		`{"__meteredTrackMeta":{"trackId":"t","metadata":{"a":[1,{"b":null}]}}}`,
		`{"x":1}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := classifyDirect(json.RawMessage(b))
		switch c.kind {
		case directDescription:
			if c.description.Type != webrtc.SDPTypeOffer && c.description.Type != webrtc.SDPTypeAnswer {
				t.Fatalf("description of type %v", c.description.Type)
			}
		case directTrackMeta:
			if c.trackID == "" || (c.metadata != nil && !json.Valid(c.metadata)) {
				t.Fatal("bad track meta accepted")
			}
		}
	})
}

// FuzzRemoteSections: any remote SDP, however broken, is read for its
// sending directions without a panic, and only accepted sections count.
func FuzzRemoteSections(f *testing.F) {
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n")
	f.Add("m=audio 9 RTP/AVP 0\r\na=mid:p1\r\na=recvonly\r\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, sdp string) {
		for _, typ := range []webrtc.SDPType{webrtc.SDPTypeOffer, webrtc.SDPTypeAnswer} {
			got := remoteSections(&webrtc.SessionDescription{Type: typ, SDP: sdp})
			if len(got) > strings.Count(sdp, "m=") {
				t.Fatalf("%d sections from %d m-lines", len(got), strings.Count(sdp, "m="))
			}
		}
	})
}
