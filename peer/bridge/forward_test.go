package bridge

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer/internal/codec"
)

// fakeContext is one viewer connection: what Bind reads, and what the
// track writes to it.
type fakeContext struct {
	id      string
	ssrc    webrtc.SSRC
	codecs  []webrtc.RTPCodecParameters
	written []rtp.Header
}

func (c *fakeContext) CodecParameters() []webrtc.RTPCodecParameters { return c.codecs }
func (c *fakeContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return nil
}
func (c *fakeContext) SSRC() webrtc.SSRC                       { return c.ssrc }
func (c *fakeContext) SSRCRetransmission() webrtc.SSRC         { return 0 }
func (c *fakeContext) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (c *fakeContext) WriteStream() webrtc.TrackLocalWriter    { return c }
func (c *fakeContext) ID() string                              { return c.id }
func (c *fakeContext) RTCPReader() interceptor.RTCPReader      { return nil }
func (c *fakeContext) WriteRTP(h *rtp.Header, _ []byte) (int, error) {
	c.written = append(c.written, *h)
	return 0, nil
}
func (c *fakeContext) Write(b []byte) (int, error) { return len(b), nil }

var viewerH264 = []webrtc.RTPCodecParameters{
	{RTPCodecCapability: codec.H264("42001f"), PayloadType: 102},
	{RTPCodecCapability: codec.H264("42e01f"), PayloadType: 106},
}

// bindH264Viewer binds tr to a new viewer connection that takes H.264.
func bindH264Viewer(t *testing.T, tr *forwardTrack, id string, ssrc webrtc.SSRC) *fakeContext {
	t.Helper()
	c := &fakeContext{id: id, ssrc: ssrc, codecs: viewerH264}
	_, err := tr.Bind(c)
	require.NoError(t, err)
	return c
}

func TestForwardRenumbersAReplay(t *testing.T) {
	t.Parallel()
	tr := newForwardTrack("v", "s", codec.H264("42e01f"), nil)
	a := &fakeContext{id: "a", ssrc: 1111, codecs: viewerH264}
	codec, err := tr.Bind(a)
	require.NoError(t, err)
	assert.Equal(t, webrtc.PayloadType(102), codec.PayloadType, "the same profile (baseline and constrained baseline alike)")

	send := func(seq uint16, ts uint32, payload ...byte) {
		tr.write(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, SSRC: 42, PayloadType: 96, Extension: true}, Payload: payload})
	}
	send(100, 9000, 0x41)  // before any keyframe: not kept past its frame
	send(101, 12000, 0x06) // an SEI of the keyframe's access unit
	send(102, 12000, 0x65) // the IDR
	send(103, 15000, 0x41) // a P slice
	send(104, 15000)       // padding only: dropped, the sequence closes over it
	send(105, 18000, 0x41) // a P slice
	require.Len(t, a.written, 5)
	for i, h := range a.written {
		assert.Equal(t, uint32(1111), h.SSRC)
		assert.Equal(t, uint8(102), h.PayloadType)
		assert.False(t, h.Extension, "the publisher's extensions stay behind")
		assert.Equal(t, uint16(100+i), h.SequenceNumber)
	}
	assert.Equal(t, uint32(18000), a.written[4].Timestamp)

	// a asks for a keyframe: the kept group follows what a has, one tick
	// apart, and what comes next follows it.
	tr.keyframeWanted("a")
	send(106, 21000, 0x41)
	got := a.written[5:]
	require.Len(t, got, 5)
	wantSeq := []uint16{105, 106, 107, 108, 109}
	wantTS := []uint32{18001, 18001, 18002, 18003, 18003 + 3000}
	for i, h := range got {
		assert.Equal(t, wantSeq[i], h.SequenceNumber, "packet %d", i)
		assert.Equal(t, wantTS[i], h.Timestamp, "packet %d", i)
	}

	// A new viewer gets the group from its start, in its own numbers.
	b := bindH264Viewer(t, tr, "b", 2222)
	tr.keyframeWanted("b")
	require.Len(t, b.written, 5)
	assert.Equal(t, uint16(101), b.written[0].SequenceNumber)
	assert.Equal(t, uint32(12000), b.written[0].Timestamp)
	send(107, 24000, 0x41)
	assert.Equal(t, uint16(106), b.written[5].SequenceNumber)
	assert.Equal(t, uint32(12000+3+3000), b.written[5].Timestamp)

	// A second request within a second replays nothing more.
	n := len(b.written)
	tr.keyframeWanted("b")
	assert.Len(t, b.written, n)
}

func TestForwardRefusesAProfileTheViewerLacks(t *testing.T) {
	t.Parallel()
	tr := newForwardTrack("v", "s", codec.H264("64001f"), nil)
	_, err := tr.Bind(&fakeContext{id: "a", codecs: viewerH264})
	assert.ErrorIs(t, err, webrtc.ErrUnsupportedCodec)
}

func TestKeyframeStarts(t *testing.T) {
	t.Parallel()
	h := keyframeStart("video/H264")
	assert.True(t, h([]byte{0x65, 1}), "IDR")
	assert.True(t, h([]byte{0x67, 1}), "SPS")
	assert.False(t, h([]byte{0x41, 1}), "P slice")
	assert.True(t, h([]byte{0x18, 0, 2, 0x67, 1, 0, 2, 0x68, 1}), "STAP-A with an SPS")
	assert.False(t, h([]byte{0x18, 0, 2, 0x06, 1, 0, 9}), "STAP-A cut short")
	assert.True(t, h([]byte{0x7c, 0x85, 1}), "FU-A start of an IDR")
	assert.False(t, h([]byte{0x7c, 0x05, 1}), "FU-A middle of an IDR")
	v8 := keyframeStart("video/VP8")
	assert.True(t, v8([]byte{0x10, 0x00}), "start, key")
	assert.False(t, v8([]byte{0x10, 0x01}), "start, inter")
	assert.True(t, v8([]byte{0x90, 0x80, 0x81, 0x02, 0x00}), "picture id of 15 bits, key")
	assert.False(t, v8([]byte{0x00, 0x00}), "not a start")
	v9 := keyframeStart("video/VP9")
	assert.True(t, v9([]byte{0x08}))
	assert.False(t, v9([]byte{0x48}))
	assert.Nil(t, keyframeStart("audio/opus"))
	for _, f := range []func([]byte) bool{h, v8, v9} {
		assert.False(t, f(nil))
	}
}

func TestOneLayerOfSimulcast(t *testing.T) {
	t.Parallel()
	offer := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\n" +
		"a=rid:h send\r\na=rid:m send\r\na=rid:l send\r\na=simulcast:send h;m;l\r\n"
	out, layers, err := checkOffer(offer)
	require.NoError(t, err)
	assert.Equal(t, "h;m;l → h", layers)
	assert.Contains(t, out, "a=simulcast:send h\r\n")
	assert.Contains(t, out, "a=rid:h send\r\n")
	assert.NotContains(t, out, "a=rid:m")
	assert.NotContains(t, out, "a=rid:l")
}

func TestParseSDPFrag(t *testing.T) {
	t.Parallel()
	f, err := parseSDPFrag("a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host\r\na=end-of-candidates\r\n")
	require.NoError(t, err)
	assert.Equal(t, "abcd", f.ufrag)
	assert.Equal(t, []fragCandidate{{mid: "0", line: "candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host"}}, f.candidates)
	assert.True(t, f.end)
	for _, bad := range []string{
		"a=ice-ufrag:abcd\r\n",                             // no pwd
		"a=ice-ufrag:ab\r\na=ice-pwd:0123456789abcdef\r\n", // too short
		"a=mid:0\r\n",             // outside a section
		"a=candidate:1 1 udp\r\n", // too few fields
		"hello\r\n",
		"z=1\r\n",
		"a=ice-ufrag:\xff\xfe\r\n",
	} {
		_, err := parseSDPFrag(bad)
		assert.ErrorIs(t, err, errBadFrag, "%q", bad)
	}
}

func FuzzParseSDPFrag(f *testing.F) {
	f.Add("a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host\r\n")
	f.Add("a=end-of-candidates\n")
	f.Fuzz(func(t *testing.T, body string) {
		frag, err := parseSDPFrag(body)
		if err != nil {
			return
		}
		// What parses is what the session acts on: credentials come in
		// pairs of ICE characters, candidates have their fields.
		if (frag.ufrag == "") != (frag.pwd == "") {
			t.Fatalf("credentials not paired: %+v", frag)
		}
		if frag.ufrag != "" && (!iceChars(frag.ufrag) || !iceChars(frag.pwd)) {
			t.Fatalf("credentials of other characters: %+v", frag)
		}
		for _, c := range frag.candidates {
			if len(c.line) < len("candidate:") {
				t.Fatalf("short candidate %q", c.line)
			}
		}
	})
}

func FuzzCheckOffer(f *testing.F) {
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\na=rid:h send\r\na=simulcast:send h;~m\r\n")
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n")
	f.Fuzz(func(t *testing.T, body string) {
		out, _, err := checkOffer(body)
		if err != nil {
			if statusOf(err) < 400 || statusOf(err) > 499 {
				t.Fatalf("a bad offer is a 4xx, got %d: %v", statusOf(err), err)
			}
			return
		}
		if out == "" {
			t.Fatal("an accepted offer is empty")
		}
	})
}

// TestForwardReplaysBetweenFrames: a viewer that asks for a keyframe while
// it has part of a frame gets the kept pictures after that frame's last
// packet (its marker), or at the next frame's first when the publisher
// marks nothing, never inside a frame.
func TestForwardReplaysBetweenFrames(t *testing.T) {
	t.Parallel()
	tr := newForwardTrack("v", "s", codec.H264("42e01f"), nil)
	a := bindH264Viewer(t, tr, "a", 1111)
	send := func(seq uint16, ts uint32, marker bool, payload ...byte) {
		tr.write(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, Marker: marker}, Payload: payload})
	}
	send(100, 3000, false, 0x67)       // the SPS
	send(101, 3000, false, 0x7c, 0x85) // the IDR's first fragment
	send(102, 3000, true, 0x7c, 0x45)  // and its last
	send(103, 6000, false, 0x5c, 0x81) // a P slice's first fragment
	tr.keyframeWanted("a")
	require.Len(t, a.written, 4, "nothing replayed inside a frame")
	send(104, 6000, true, 0x5c, 0x41) // its last
	require.Len(t, a.written, 4+1+5, "the kept pictures after the frame's end")
	assert.True(t, a.written[4].Marker, "the frame ended before the replay")
	replay := a.written[5:]
	for i, h := range replay {
		assert.Equal(t, uint16(105+i), h.SequenceNumber, "replayed packet %d", i)
	}
	assert.Equal(t, []uint32{6001, 6001, 6001, 6002, 6002}, []uint32{replay[0].Timestamp, replay[1].Timestamp, replay[2].Timestamp, replay[3].Timestamp, replay[4].Timestamp})

	// A publisher that marks nothing: the replay waits for the next frame.
	b := bindH264Viewer(t, tr, "b", 2222)
	send(105, 9000, false, 0x5c, 0x81)
	send(106, 9000, false, 0x5c, 0x41)
	tr.keyframeWanted("b")
	require.Len(t, b.written, 2, "nothing replayed until the frame is known to have ended")
	send(107, 12000, false, 0x41)
	require.Len(t, b.written, 2+7+1, "the kept pictures, then the new frame")
	assert.Equal(t, b.written[1].SequenceNumber+1, b.written[2].SequenceNumber, "the replay follows what b had")
	assert.Equal(t, uint32(9001), b.written[2].Timestamp)
	assert.Equal(t, b.written[8].SequenceNumber+1, b.written[9].SequenceNumber, "and the new frame follows the replay")
}
