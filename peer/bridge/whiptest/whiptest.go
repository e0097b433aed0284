// Package whiptest has a WHIP publisher and a WHEP player for tests, on
// pion, with the HTTP calls of RFC 9725 around them. The publisher sends an
// Opus and an H.264 track the way OBS does: send only, one keyframe and
// never another, keyframe requests unanswered.
package whiptest

import (
	"bytes"
	"io"
	"net/http"
	neturl "net/url"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer/peertest"
)

// Publisher is a WHIP client on pion.
type Publisher struct {
	PC           *webrtc.PeerConnection
	Audio, Video *webrtc.TrackLocalStaticRTP
	// Location and ETag are the session's, once published.
	Location, ETag string

	plis      chan struct{}
	heard     chan struct{} // closed on the endpoint's first RTCP
	heardOnce sync.Once
}

// NewPublisher makes a publisher; it is closed when the test ends.
func NewPublisher(t testing.TB) *Publisher {
	t.Helper()
	m := &webrtc.MediaEngine{}
	require.NoError(t, m.RegisterDefaultCodecs())
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	p := &Publisher{PC: pc, plis: make(chan struct{}, 16), heard: make(chan struct{})}
	t.Cleanup(func() { _ = pc.Close() })
	p.Audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "obs")
	require.NoError(t, err)
	p.Video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "cam", "obs")
	require.NoError(t, err)
	for _, tr := range []webrtc.TrackLocal{p.Audio, p.Video} {
		tx, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		require.NoError(t, err)
		go p.readRTCP(tx.Sender())
	}
	return p
}

func (p *Publisher) readRTCP(s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		p.heardOnce.Do(func() { close(p.heard) })
		for _, pk := range pkts {
			if _, ok := pk.(*rtcp.PictureLossIndication); ok {
				select {
				case p.plis <- struct{}{}:
				default:
				}
			}
		}
	}
}

// PLIs receives once for each keyframe request that reached the
// publisher (some are dropped when nobody reads).
func (p *Publisher) PLIs() <-chan struct{} { return p.plis }

// Offer is the publisher's offer with every candidate in it.
func (p *Publisher) Offer(t testing.TB) string {
	t.Helper()
	o, err := p.PC.CreateOffer(nil)
	require.NoError(t, err)
	gathered := webrtc.GatheringCompletePromise(p.PC)
	require.NoError(t, p.PC.SetLocalDescription(o))
	<-gathered
	return p.PC.LocalDescription().SDP
}

// Publish posts the offer to url with token and applies the answer.
func (p *Publisher) Publish(t testing.TB, url, token string) {
	t.Helper()
	resp := Do(t, http.MethodPost, url, "application/sdp", token, p.Offer(t), nil)
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	require.Equal(t, "application/sdp", resp.Header.Get("Content-Type"))
	p.Location, p.ETag = Resolve(t, url, resp.Header.Get("Location")), resp.Header.Get("ETag")
	require.NoError(t, p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}))
}

// Send writes audio every 20 ms and video at 30 frames/s: an IDR first
// (SPS, PPS and the slice), then only P slices, like a publisher that
// never answers a keyframe request, until the test ends. Video starts
// once the endpoint has reported on the audio: the one keyframe must not
// go before the endpoint can decrypt it.
func (p *Publisher) Send(t testing.TB) {
	var aseq, vseq uint16
	peertest.Every(t, 10*time.Millisecond, func(n int) {
		n++
		if n%2 == 0 {
			aseq++
			_ = p.Audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: aseq, Timestamp: uint32(n) * 480}, Payload: []byte{0xf8, 0xff, 0xfe}})
		}
		select {
		case <-p.heard:
		default:
			return
		}
		if n%3 != 0 {
			return
		}
		ts := uint32(n/3) * 3000
		units := [][]byte{append([]byte{0x41}, bytes.Repeat([]byte{0x22}, 300)...)}
		if vseq == 0 {
			units = [][]byte{{0x67, 0x42, 0xe0, 0x1f}, {0x68, 0xce, 0x38, 0x80}, append([]byte{0x65}, bytes.Repeat([]byte{0x11}, 900)...)}
		}
		for i, u := range units {
			vseq++
			_ = p.Video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: vseq, Timestamp: ts, Marker: i == len(units)-1}, Payload: u})
		}
	})
}

// Do makes one HTTP request (token "" sends no Authorization), closing
// its body when the test ends.
func Do(t testing.TB, method, url, contentType, token, body string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// Resolve resolves a Location against the URL it answered.
func Resolve(t testing.TB, base, location string) string {
	t.Helper()
	require.NotEmpty(t, location)
	b, err := neturl.Parse(base)
	require.NoError(t, err)
	l, err := b.Parse(location)
	require.NoError(t, err)
	return l.String()
}
