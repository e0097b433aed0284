package bridge_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/bridge"
	"github.com/metered-ca/realtime-go/peer/bridge/whiptest"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A publisher's two tracks reach a member of the room with their
// metadata, and leave it when the publisher deletes its session.
func TestWHIPPublishesIntoTheRoom(t *testing.T) {
	t.Parallel()
	r := newRoom(t, bridge.Options{})
	tracks := r.viewer(t, "viewer")
	p := whiptest.NewPublisher(t)
	p.Publish(t, r.url, testToken)
	p.Send(t)

	got := map[string]peer.StreamMetadata{}
	for range 2 {
		ev := tracks.Next(t, nil)
		got[ev.Track.Kind().String()] = ev.Metadata
		require.NotEqual(t, 0, readSome(t, ev), "packets arrive")
	}
	assert.Equal(t, map[string]peer.StreamMetadata{
		"audio": {"label": "cam", "source": "whip", "kind": "audio"},
		"video": {"label": "cam", "source": "whip", "kind": "video"},
	}, got)
	assert.Equal(t, 1, r.whip.Sessions())

	resp := do(t, http.MethodDelete, p.Location, "", testToken, "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 0, r.whip.Sessions())
	assert.Eventually(t, func() bool { return len(r.bridge.RemotePeers()) == 1 && noTracksSent(r.bridge) }, 10*time.Second, 20*time.Millisecond)
}

func readSome(t *testing.T, ev peer.Track) int {
	t.Helper()
	n := 0
	deadline := time.Now().Add(10 * time.Second)
	for n < 5 && time.Now().Before(deadline) {
		if _, _, err := ev.Track.ReadRTP(); err != nil {
			break
		}
		n++
	}
	return n
}

func noTracksSent(p *peer.MeteredPeer) bool {
	for _, rp := range p.RemotePeers() {
		for _, tx := range rp.PC().GetTransceivers() {
			if s := tx.Sender(); s != nil && s.Track() != nil {
				return false
			}
		}
	}
	return true
}

// The publisher sends one keyframe and never another (OBS has no handler
// for keyframe requests). A member who joins later still gets a picture:
// the pictures since that keyframe, renumbered to follow what it has.
// Its keyframe requests are passed on to the publisher, at most one a
// second.
func TestWHIPLateViewerGetsTheKeptPictures(t *testing.T) {
	t.Parallel()
	r := newRoom(t, bridge.Options{})
	p := whiptest.NewPublisher(t)
	p.Publish(t, r.url, testToken)
	p.Send(t)
	time.Sleep(1500 * time.Millisecond) // 45 pictures after the only keyframe

	tracks := r.viewer(t, "late")
	ev := tracks.Next(t, func(ev peer.Track) bool { return ev.Track.Kind().String() == "video" })
	assert.Equal(t, peer.StreamMetadata{"label": "cam", "source": "whip", "kind": "video"}, ev.Metadata)
	start := time.Now()
	var last uint16
	seen := 0
	for {
		pkt, _, err := ev.Track.ReadRTP()
		require.NoError(t, err)
		if seen > 0 {
			require.Equal(t, last+1, pkt.SequenceNumber, "numbers follow on, through the replay")
		}
		last = pkt.SequenceNumber
		seen++
		if len(pkt.Payload) > 0 && pkt.Payload[0]&0x1f == 7 {
			break // the kept keyframe's parameter sets
		}
		require.Less(t, time.Since(start), 10*time.Second, "the kept keyframe arrives")
	}
	t.Logf("keyframe after %v and %d packets", time.Since(start).Round(time.Millisecond), seen)
	select {
	case <-p.PLIs():
	case <-time.After(10 * time.Second):
		t.Fatal("the viewer's wish for a keyframe reached the publisher")
	}
}

// Requests that are not WHIP get the status RFC 9725 and HTTP give them,
// and change nothing.
func TestWHIPRefusals(t *testing.T) {
	t.Parallel()
	r := newRoom(t, bridge.Options{MaxSessions: 1, MaxBodyBytes: 32 << 10})
	offer := whiptest.NewPublisher(t).Offer(t)
	for _, c := range []struct {
		name, method, contentType, token, body string
		status                                 int
	}{
		{"no token", http.MethodPost, "application/sdp", "", offer, http.StatusUnauthorized},
		{"wrong token", http.MethodPost, "application/sdp", "guess", offer, http.StatusUnauthorized},
		{"not SDP", http.MethodPost, "text/plain", testToken, offer, http.StatusUnsupportedMediaType},
		{"malformed SDP", http.MethodPost, "application/sdp", testToken, "v=0\r\nthis is not sdp\r\n", http.StatusBadRequest},
		{"receive only", http.MethodPost, "application/sdp", testToken, strings.ReplaceAll(offer, "a=sendonly", "a=recvonly"), http.StatusBadRequest},
		{"a codec nobody decodes", http.MethodPost, "application/sdp", testToken, onlyCodec(offer, "H265"), http.StatusUnprocessableEntity},
		{"too large", http.MethodPost, "application/sdp", testToken, offer + strings.Repeat("a=x-pad:0\r\n", 4000), http.StatusRequestEntityTooLarge},
		{"unknown session deleted", http.MethodDelete, "", testToken, "", http.StatusNotFound},
		{"unknown session patched", http.MethodPatch, "application/trickle-ice-sdpfrag", testToken, "a=end-of-candidates\r\n", http.StatusNotFound},
		{"put", http.MethodPut, "application/sdp", testToken, offer, http.StatusMethodNotAllowed},
		{"get", http.MethodGet, "", testToken, "", http.StatusNoContent},
	} {
		url := r.url
		if c.method == http.MethodDelete || c.method == http.MethodPatch {
			url += "/0123456789abcdef0123456789abcdef"
		}
		resp := do(t, c.method, url, c.contentType, c.token, c.body, nil)
		assert.Equal(t, c.status, resp.StatusCode, c.name)
		if c.status == http.StatusUnauthorized {
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer", c.name)
		}
		assert.Equal(t, 0, r.whip.Sessions(), c.name)
	}

	resp := do(t, http.MethodOptions, r.url, "", "", "", nil)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "application/sdp", resp.Header.Get("Accept-Post"))

	// One session is the cap: a second publisher is told to come back.
	whiptest.NewPublisher(t).Publish(t, r.url, testToken)
	resp = post(t, r.url, "application/sdp", testToken, whiptest.NewPublisher(t).Offer(t))
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Equal(t, 1, r.whip.Sessions())

	_, err := bridge.NewWHIP(r.bridge, bridge.Options{})
	assert.ErrorIs(t, err, bridge.ErrNoAuth)
}

// onlyCodec rewrites offer's video section to offer one codec by name.
func onlyCodec(offer, name string) string {
	var out []string
	for _, line := range strings.Split(offer, "\r\n") {
		if strings.HasPrefix(line, "a=rtpmap:") && strings.Contains(offer, "m=video") {
			if !strings.Contains(line, "opus") {
				pt := strings.Fields(strings.TrimPrefix(line, "a=rtpmap:"))[0]
				line = "a=rtpmap:" + pt + " " + name + "/90000"
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\r\n")
}

// A publisher whose connection never comes up is dropped.
func TestWHIPDropsWhatNeverConnects(t *testing.T) {
	t.Parallel()
	r := newRoom(t, bridge.Options{ConnectTimeout: 300 * time.Millisecond})
	p := whiptest.NewPublisher(t)
	resp := post(t, r.url, "application/sdp", testToken, p.Offer(t))
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.NoError(t, p.PC.Close()) // the answer is never applied
	assert.Equal(t, 1, r.whip.Sessions())
	assert.Eventually(t, func() bool { return r.whip.Sessions() == 0 }, 5*time.Second, 20*time.Millisecond)
}

// PATCH takes trickled candidates (204) and ICE restarts (200, the
// endpoint's new credentials and candidates, a new entity-tag); media
// flows on after the restart.
func TestWHIPTrickleAndRestart(t *testing.T) {
	t.Parallel()
	r := newRoom(t, bridge.Options{})
	tracks := r.viewer(t, "viewer")
	p := whiptest.NewPublisher(t)
	connected := make(chan struct{}, 4)
	p.PC.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			connected <- struct{}{}
		}
	})
	p.Publish(t, r.url, testToken)
	p.Send(t)
	video := tracks.Next(t, func(ev peer.Track) bool { return ev.Track.Kind() == webrtc.RTPCodecTypeVideo })
	received := peertest.CountRTP(video.Track)
	waitFor(t, connected)

	ufrag, pwd := iceCredentials(p.PC.LocalDescription().SDP)
	trickle := "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd + "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n"
	frag := "application/trickle-ice-sdpfrag"
	assert.Equal(t, http.StatusNoContent, do(t, http.MethodPatch, p.Location, frag, testToken, trickle, http.Header{"If-Match": {p.ETag}}).StatusCode)
	assert.Equal(t, http.StatusPreconditionFailed, do(t, http.MethodPatch, p.Location, frag, testToken, trickle, http.Header{"If-Match": {`"stale"`}}).StatusCode)
	assert.Equal(t, http.StatusUnsupportedMediaType, do(t, http.MethodPatch, p.Location, "application/sdp", testToken, trickle, nil).StatusCode)
	assert.Equal(t, http.StatusBadRequest, do(t, http.MethodPatch, p.Location, frag, testToken, "not a fragment", nil).StatusCode)

	// The restart: the publisher's new credentials and candidates.
	offer, err := p.PC.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	require.NoError(t, err)
	gathered := webrtc.GatheringCompletePromise(p.PC)
	require.NoError(t, p.PC.SetLocalDescription(offer))
	<-gathered
	restart := answerICE(p.PC.LocalDescription().SDP)
	assert.Equal(t, http.StatusPreconditionRequired, do(t, http.MethodPatch, p.Location, frag, testToken, restart, nil).StatusCode, "a restart needs If-Match")
	resp := do(t, http.MethodPatch, p.Location, frag, testToken, restart, http.Header{"If-Match": {p.ETag}})
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, frag, resp.Header.Get("Content-Type"))
	assert.NotEqual(t, p.ETag, resp.Header.Get("ETag"))
	oldUfrag, _ := iceCredentials(p.PC.RemoteDescription().SDP)
	newUfrag, newPwd := iceCredentials(string(body))
	require.NotEmpty(t, newUfrag)
	assert.NotEqual(t, oldUfrag, newUfrag, "the endpoint's credentials are new")

	// The publisher applies the endpoint's new credentials as its answer.
	answer := p.PC.RemoteDescription().SDP
	answer = strings.ReplaceAll(answer, "a=ice-ufrag:"+oldUfrag, "a=ice-ufrag:"+newUfrag)
	_, oldPwd := iceCredentials(answer)
	answer = strings.ReplaceAll(answer, "a=ice-pwd:"+oldPwd, "a=ice-pwd:"+newPwd)
	require.NoError(t, p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}))
	for _, line := range strings.Split(string(body), "\r\n") {
		if c, ok := strings.CutPrefix(line, "a="); ok && strings.HasPrefix(c, "candidate:") {
			require.NoError(t, p.PC.AddICECandidate(webrtc.ICECandidateInit{Candidate: c}))
		}
	}
	waitFor(t, connected)
	before := received.Load()
	assert.Eventually(t, func() bool { return received.Load() > before+30 }, 10*time.Second, 20*time.Millisecond, "media flows after the restart")
	assert.Equal(t, 1, r.whip.Sessions())
}

func waitFor(t *testing.T, ch chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatal("not within 20 s")
	}
}

// iceCredentials reads the first ice-ufrag and ice-pwd of an SDP or sdpfrag.
func iceCredentials(s string) (ufrag, pwd string) {
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, "a=ice-ufrag:"); ok && ufrag == "" {
			ufrag = v
		}
		if v, ok := strings.CutPrefix(line, "a=ice-pwd:"); ok && pwd == "" {
			pwd = v
		}
	}
	return ufrag, pwd
}

// answerICE is an offer's ICE part as an sdpfrag, as a WHIP client sends
// it for a restart.
func answerICE(offer string) string {
	ufrag, pwd := iceCredentials(offer)
	out := "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd + "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
	for _, line := range strings.Split(offer, "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			out += line + "\r\n"
		}
	}
	return out
}

// A thousand offers whose senders never connect: each is answered 201
// while there is room and 503 once the sessions are at their cap, each
// session is dropped when its connect time is up, memory comes back, and
// a publisher already in the room goes on reaching its member.
func TestWHIPUnderAFloodOfOffers(t *testing.T) {
	t.Parallel()
	r := newRoom(t, bridge.Options{ConnectTimeout: time.Second})
	tracks := r.viewer(t, "viewer")
	p := whiptest.NewPublisher(t)
	p.Publish(t, r.url, testToken)
	p.Send(t)
	received := peertest.CountRTP(tracks.Next(t, func(ev peer.Track) bool { return ev.Track.Kind() == webrtc.RTPCodecTypeAudio }).Track)
	offer := whiptest.NewPublisher(t).Offer(t)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	jobs := make(chan struct{})
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				req, _ := http.NewRequest(http.MethodPost, r.url, strings.NewReader(offer))
				req.Header.Set("Content-Type", "application/sdp")
				req.Header.Set("Authorization", "Bearer "+testToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	during := received.Load()
	for range 1000 {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	t.Logf("answers: %v", statuses)
	assert.Equal(t, 1000, statuses[http.StatusCreated]+statuses[http.StatusServiceUnavailable], "201 or 503, nothing else: %v", statuses)
	assert.Greater(t, statuses[http.StatusServiceUnavailable], 0, "the cap was met")
	assert.Greater(t, received.Load(), during, "the publisher's audio went on reaching the member")

	require.Eventually(t, func() bool { return r.whip.Sessions() == 1 }, 20*time.Second, 50*time.Millisecond, "every unconnected session is dropped")
	after := received.Load()
	assert.Eventually(t, func() bool { return received.Load() > after+10 }, 10*time.Second, 20*time.Millisecond, "and still does")
	var end runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&end)
	growth := int64(end.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap in use: %d kB before, %d kB after (%+d kB)", before.HeapInuse>>10, end.HeapInuse>>10, growth>>10)
	assert.Less(t, growth, int64(32<<20), "what the dropped sessions held is freed")
}

// Link headers hand out STUN to anyone, and TURN credentials only to an
// authenticated client on loopback unless LinkTURNToAll.
func TestWHIPLinkHeaders(t *testing.T) {
	t.Parallel()
	servers := []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.net:3478"}},
		{URLs: []string{"turn:turn.example.net:3478?transport=udp"}, Username: "room-user", Credential: "room-secret"},
	}
	for _, c := range []struct {
		name       string
		remote     string
		token      string
		toAll      bool
		wantSecret bool
	}{
		{"loopback, authenticated", "127.0.0.1:5000", testToken, false, true},
		{"loopback, no token", "127.0.0.1:5000", "", false, false},
		{"elsewhere, authenticated", "203.0.113.7:5000", testToken, false, false},
		{"elsewhere, authenticated, to all", "203.0.113.7:5000", testToken, true, true},
	} {
		h, err := bridge.NewWHIP(nil, bridge.Options{Token: testToken, ICEServers: servers, LinkTURNToAll: c.toAll})
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodOptions, "/whip/cam", nil)
		req.RemoteAddr = c.remote
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		links := strings.Join(rec.Header().Values("Link"), "\n")
		assert.Contains(t, links, `<stun:stun.example.net:3478>; rel="ice-server"`, c.name)
		assert.Equal(t, c.wantSecret, strings.Contains(links, "room-secret"), "%s: %s", c.name, links)
		assert.Equal(t, "application/sdp", rec.Header().Get("Accept-Post"), c.name)
		require.NoError(t, h.Close())
	}
}

// A publisher that stops and starts again (OBS's Stop and Start
// Streaming) reaches the room's members every time, and each round grows
// the bridge's offer by little: the m-lines a removed track leaves carry
// one codec (peer/slots.go).
func TestWHIPRepublishes(t *testing.T) {
	t.Parallel()
	r := newRoom(t, bridge.Options{})
	tracks := r.viewer(t, "viewer")
	var sizes []int
	for i := range 8 {
		p := whiptest.NewPublisher(t)
		p.Publish(t, r.url, testToken)
		p.Send(t)
		video := tracks.Next(t, func(ev peer.Track) bool { return ev.Track.Kind() == webrtc.RTPCodecTypeVideo })
		require.Equal(t, 5, readSome(t, video), "round %d: the video arrives", i)
		sizes = append(sizes, len(r.bridge.RemotePeers()[0].PC().LocalDescription().SDP))
		resp := do(t, http.MethodDelete, p.Location, "", testToken, "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, p.PC.Close())
	}
	growth := (sizes[7] - sizes[1]) / 6
	t.Logf("offer sizes %v: %d bytes a round", sizes, growth)
	assert.Less(t, growth, 3000, "an idle m-line is narrowed to one codec (all of them: 9.5 kB a round)")
}
