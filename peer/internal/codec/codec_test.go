package codec

import (
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOfferListsAllOnce offers a video and an audio m-line with All
// registered and reads the offer back: every payload type is an RTP one
// (under 128) and used once, every RTX names a codec of its m-line, and
// H.264 never asks for packetization mode 0.
func TestOfferListsAllOnce(t *testing.T) {
	t.Parallel()
	m := &webrtc.MediaEngine{}
	require.NoError(t, Register(m, All))
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	defer func() { assert.NoError(t, pc.Close()) }()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		_, err := pc.AddTransceiverFromKind(kind)
		require.NoError(t, err)
	}
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	var desc sdp.SessionDescription
	require.NoError(t, desc.UnmarshalString(offer.SDP))
	require.Len(t, desc.MediaDescriptions, 2)

	want := map[string]int{"audio": 0, "video": 0}
	for _, c := range All {
		want[c.Kind().String()]++
		if c.RTX != 0 {
			want[c.Kind().String()]++
		}
	}
	for _, md := range desc.MediaDescriptions {
		kind := md.MediaName.Media
		assert.Len(t, md.MediaName.Formats, want[kind], kind)
		listed := map[string]bool{}
		for _, f := range md.MediaName.Formats {
			assert.False(t, listed[f], "%s lists payload type %s twice", kind, f)
			listed[f] = true
			assert.Less(t, len(f), 4, f)
			assert.NotEqual(t, "128", f)
		}
		for _, a := range md.Attributes {
			if a.Key != "fmtp" {
				continue
			}
			_, params, _ := strings.Cut(a.Value, " ")
			assert.NotContains(t, params, "packetization-mode=0")
			if apt, ok := strings.CutPrefix(params, "apt="); ok {
				assert.True(t, listed[apt], "RTX of %s, which %s does not list", apt, kind)
			}
		}
	}
}

// TestRegisterAddsFeedback: extra feedback goes on every video codec and
// never into the shared VideoFeedback.
func TestRegisterAddsFeedback(t *testing.T) {
	t.Parallel()
	m := &webrtc.MediaEngine{}
	require.NoError(t, Register(m, []Codec{Opus, VP8, H264High}, webrtc.RTCPFeedback{Type: "transport-cc"}))
	assert.Len(t, VideoFeedback, 4)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	defer func() { assert.NoError(t, pc.Close()) }()
	_, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo)
	require.NoError(t, err)
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	assert.Contains(t, offer.SDP, "a=rtcp-fb:96 transport-cc")
	assert.Contains(t, offer.SDP, "a=rtcp-fb:112 transport-cc")
	assert.NotContains(t, offer.SDP, "a=rtpmap:106 ")
}
