package bridge_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/bridge"
	"github.com/metered-ca/realtime-go/peer/bridge/whiptest"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// stage is a room with a member sending a camera (H.264, one keyframe
// then P slices) and a microphone, and a WHEP endpoint for the room.
type stage struct {
	sender *peer.MeteredPeer
	whep   *bridge.WHEP
	url    string // the endpoint: GET the index here
	// plis counts the keyframe requests that reached the sender, which
	// answers each with a keyframe.
	plis atomic.Int64
}

func newStage(t *testing.T, opts bridge.Options) *stage {
	t.Helper()
	srv := peertest.NewServer(t)
	ctx := peertest.Context(t, 30*time.Second)
	watcher := peertest.NewPeer(t, srv, "whep")
	if opts.Token == "" && !opts.Anonymous {
		opts.Token = testToken
	}
	w, err := bridge.NewWHEP(watcher, opts)
	require.NoError(t, err)
	require.NoError(t, watcher.Join(ctx, "room"))
	mux := http.NewServeMux()
	mux.Handle("/whep/", w)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { hs.Close(); _ = w.Close() })

	sender := peertest.NewPeer(t, srv, "sender")
	cam, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "cam", "studio")
	require.NoError(t, err)
	mic := peertest.OpusTrack(t, "mic", "studio")
	require.NoError(t, sender.AddStream(peer.NewMediaStreamWithID("studio", cam, mic), peer.StreamMetadata{"label": "studio"}))
	require.NoError(t, sender.Join(ctx, "room"))
	st := &stage{sender: sender, whep: w, url: hs.URL + "/whep/"}
	var key atomic.Bool
	writeVideo(t, cam, &key)
	require.Eventually(t, func() bool { return len(w.Streams()) == 1 && len(w.Streams()[0].Tracks) == 2 }, 20*time.Second, 20*time.Millisecond, "the endpoint sees the sender's two tracks")
	for _, s := range sender.RemotePeers()[0].PC().GetSenders() {
		if s.Track() != nil && s.Track().Kind() == webrtc.RTPCodecTypeVideo {
			go func() {
				for {
					pkts, _, err := s.ReadRTCP()
					if err != nil {
						return
					}
					for _, pk := range pkts {
						if _, ok := pk.(*rtcp.PictureLossIndication); ok {
							st.plis.Add(1)
							key.Store(true)
						}
					}
				}
			}()
		}
	}
	return st
}

// writeVideo sends P slices at 30 frames/s, and an IDR first and when key
// is set, until the test ends.
func writeVideo(t *testing.T, tr *webrtc.TrackLocalStaticRTP, key *atomic.Bool) {
	peertest.Every(t, 33*time.Millisecond, func(n int) {
		payload := append([]byte{0x41}, bytes.Repeat([]byte{0x22}, 200)...)
		if n == 0 || key.Swap(false) {
			payload = append([]byte{0x65}, bytes.Repeat([]byte{0x11}, 600)...)
		}
		_ = tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: uint32(n) * 3000, Marker: true}, Payload: payload})
	})
}

// Two players watch the sender's stream, found in the index; each starts
// at a keyframe though the sender sent its last one long before.
func TestWHEPPlaysARoomStream(t *testing.T) {
	t.Parallel()
	st := newStage(t, bridge.Options{})
	resp := whiptest.Do(t, http.MethodGet, st.url, "", testToken, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var index []bridge.Stream
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&index))
	require.Len(t, index, 1)
	assert.Equal(t, "studio", index[0].Stream)
	assert.Equal(t, peer.StreamMetadata{"label": "studio"}, index[0].Metadata)
	assert.Equal(t, []bridge.StreamTrack{{ID: "mic", Kind: "audio", Codec: "audio/opus"}, {ID: "cam", Kind: "video", Codec: "video/H264"}}, index[0].Tracks)

	time.Sleep(time.Second) // the endpoint's keyframe is a second old when the players come
	for i, url := range []string{st.url + index[0].URL, st.url + "?label=studio"} {
		p := whiptest.NewPlayer(t)
		require.Equal(t, http.StatusCreated, p.Watch(t, url, testToken).StatusCode, "player %d", i)
		p.Next(t, webrtc.RTPCodecTypeAudio)
		video := p.Next(t, webrtc.RTPCodecTypeVideo)
		start := time.Now()
		var last uint16
		for n := 0; ; n++ {
			pkt, _, err := video.ReadRTP()
			require.NoError(t, err)
			if n > 0 {
				require.Equal(t, last+1, pkt.SequenceNumber, "player %d: numbers follow on, through the replay", i)
			}
			last = pkt.SequenceNumber
			if pkt.Payload[0]&0x1f == 5 {
				t.Logf("player %d: the kept keyframe after %d packets, %v", i, n, time.Since(start).Round(time.Millisecond))
				break
			}
			require.Less(t, time.Since(start), 10*time.Second, "player %d gets the kept keyframe", i)
		}
	}
	assert.Equal(t, 2, st.whep.Sessions())
}

// Players asking for keyframes many times a second reach the sender at
// most once a second.
func TestWHEPPassesKeyframeRequestsOnSparingly(t *testing.T) {
	t.Parallel()
	st := newStage(t, bridge.Options{})
	p := whiptest.NewPlayer(t)
	require.Equal(t, http.StatusCreated, p.Watch(t, st.url+"?label=studio", testToken).StatusCode)
	video := p.Next(t, webrtc.RTPCodecTypeVideo)
	plis := func() uint32 { return uint32(st.plis.Load()) }
	before, start := plis(), time.Now()
	for range 40 {
		require.NoError(t, p.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(video.SSRC())}}))
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the last ones arrive
	got, seconds := plis()-before, time.Since(start).Seconds()
	t.Logf("%d keyframe requests reached the sender in %.1f s", got, seconds)
	assert.GreaterOrEqual(t, got, uint32(1), "they reach it")
	assert.LessOrEqual(t, float64(got), seconds+1, "at most one a second")
}

// What a player cannot play is refused, and a player gone without DELETE
// is dropped when ICE gives up on it.
func TestWHEPRefusalsAndVanishedPlayers(t *testing.T) {
	t.Parallel()
	var se webrtc.SettingEngine
	se.SetICETimeouts(300*time.Millisecond, 600*time.Millisecond, 100*time.Millisecond)
	st := newStage(t, bridge.Options{SettingEngine: se})

	resp := whiptest.NewPlayer(t).Watch(t, st.url+"nobody/nothing", testToken)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	vp8 := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}
	resp = whiptest.NewPlayer(t, vp8).Watch(t, st.url+"?label=studio", testToken)
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, string(body), "video/H264")
	assert.Equal(t, http.StatusUnauthorized, whiptest.Do(t, http.MethodGet, st.url, "", "", "", nil).StatusCode)

	p := whiptest.NewPlayer(t)
	require.Equal(t, http.StatusCreated, p.Watch(t, st.url+"?label=studio", testToken).StatusCode)
	p.Next(t, webrtc.RTPCodecTypeVideo)
	require.Equal(t, 1, st.whep.Sessions())
	require.NoError(t, p.PC.Close()) // no DELETE
	assert.Eventually(t, func() bool { return st.whep.Sessions() == 0 }, 10*time.Second, 20*time.Millisecond)

	// The sender leaving ends its players' sessions.
	p = whiptest.NewPlayer(t)
	require.Equal(t, http.StatusCreated, p.Watch(t, st.url+"?label=studio", testToken).StatusCode)
	require.Equal(t, 1, st.whep.Sessions())
	require.NoError(t, st.sender.Close("bye"))
	assert.Eventually(t, func() bool { return st.whep.Sessions() == 0 && len(st.whep.Streams()) == 0 }, 10*time.Second, 20*time.Millisecond)
}

// A player that vanishes without DELETE and without closing its
// connection (its machine gone: nothing arrives from it any more) is
// dropped when ICE gives up on it. The endpoint and the player are on
// pion's virtual network, whose router stops forwarding the player's
// packets.
func TestWHEPDropsAVanishedPlayer(t *testing.T) {
	t.Parallel()
	router, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.11.0.0/24", LoggerFactory: logging.NewDefaultLoggerFactory()})
	require.NoError(t, err)
	host := func(ip string) webrtc.SettingEngine {
		nw, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
		require.NoError(t, err)
		require.NoError(t, router.AddNet(nw))
		var se webrtc.SettingEngine
		se.SetNet(nw)
		se.SetICETimeouts(300*time.Millisecond, 600*time.Millisecond, 100*time.Millisecond)
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		return se
	}
	endpoint, player := host("10.11.0.2"), host("10.11.0.3")
	var gone atomic.Bool
	router.AddChunkFilter(func(c vnet.Chunk) bool {
		return !gone.Load() || !strings.HasPrefix(c.SourceAddr().String(), "10.11.0.3:")
	})
	require.NoError(t, router.Start())
	t.Cleanup(func() { _ = router.Stop() })
	st := newStage(t, bridge.Options{SettingEngine: endpoint})

	p := whiptest.NewPlayerWith(t, player)
	require.Equal(t, http.StatusCreated, p.Watch(t, st.url+"?label=studio", testToken).StatusCode)
	p.Next(t, webrtc.RTPCodecTypeVideo)
	require.Equal(t, 1, st.whep.Sessions())
	gone.Store(true)
	assert.Eventually(t, func() bool { return st.whep.Sessions() == 0 }, 10*time.Second, 20*time.Millisecond, "ICE gave up on the player")
}
