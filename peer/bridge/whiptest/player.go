package whiptest

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// Player is a WHEP player on pion: it receives audio and video.
type Player struct {
	PC *webrtc.PeerConnection
	// Location is the session's, once watching.
	Location string

	tracks chan *webrtc.TrackRemote
	held   []*webrtc.TrackRemote // arrived, not asked for yet
}

// NewPlayer makes a player that decodes pion's default codecs, or Opus
// and only the video codecs given; it is closed when the test ends.
func NewPlayer(t testing.TB, video ...webrtc.RTPCodecParameters) *Player {
	t.Helper()
	return NewPlayerWith(t, webrtc.SettingEngine{}, video...)
}

// NewPlayerWith is NewPlayer with a SettingEngine (pion's virtual network,
// ICE timeouts).
func NewPlayerWith(t testing.TB, se webrtc.SettingEngine, video ...webrtc.RTPCodecParameters) *Player {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if len(video) == 0 {
		require.NoError(t, m.RegisterDefaultCodecs())
	} else {
		require.NoError(t, m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio))
		for _, c := range video {
			require.NoError(t, m.RegisterCodec(c, webrtc.RTPCodecTypeVideo))
		}
	}
	reg := &interceptor.Registry{}
	require.NoError(t, webrtc.RegisterDefaultInterceptors(m, reg))
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	p := &Player{PC: pc, tracks: make(chan *webrtc.TrackRemote, 4)}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		_, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		require.NoError(t, err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { p.tracks <- tr })
	return p
}

// Watch posts the player's offer to url with token; it returns the
// response, and applies the answer when there is one.
func (p *Player) Watch(t testing.TB, url, token string) *http.Response {
	t.Helper()
	resp := Do(t, http.MethodPost, url, "application/sdp", token, (&Publisher{PC: p.PC}).Offer(t), nil)
	if resp.StatusCode == http.StatusCreated {
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		p.Location = Resolve(t, url, resp.Header.Get("Location"))
		require.NoError(t, p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}))
	}
	return resp
}

// Next returns the player's track of kind, keeping any other for later;
// it fails the test after 20 s.
func (p *Player) Next(t testing.TB, kind webrtc.RTPCodecType) *webrtc.TrackRemote {
	t.Helper()
	for i, tr := range p.held {
		if tr.Kind() == kind {
			p.held = append(p.held[:i], p.held[i+1:]...)
			return tr
		}
	}
	for {
		select {
		case tr := <-p.tracks:
			if tr.Kind() == kind {
				return tr
			}
			p.held = append(p.held, tr)
		case <-time.After(20 * time.Second):
			t.Fatalf("whiptest: no %s track within 20 s", kind)
		}
	}
}
