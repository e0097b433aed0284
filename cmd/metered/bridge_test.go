package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/bridge/whiptest"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// `metered bridge -whip` takes a WHIP publisher into the channel: a member
// receives its tracks with their metadata. On loopback no token is needed;
// beyond it, one must be set.
func TestBridgeTakesWHIP(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	e, _, errs := testEnv(nil)
	e.progressEvery = 200 * time.Millisecond
	stop, wait := background(t, e, "bridge", "-url", srv.URL(), "-key", "pk_test", "-whip", "127.0.0.1:0", "room")
	endpoint := regexp.MustCompile(`WHIP endpoint: (http://\S+)/whip/LABEL`)
	require.Eventually(t, func() bool { return endpoint.MatchString(errs.String()) }, 10*time.Second, 20*time.Millisecond, errs.String())
	base := endpoint.FindStringSubmatch(errs.String())[1]

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	viewer, err := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_test"})
	require.NoError(t, err)
	defer viewer.Close("")
	tracks := make(chan peer.Track, 4)
	peer.On(viewer, func(ev peer.PeerJoined) { peer.On(ev.Peer, func(ev peer.Track) { tracks <- ev }) })
	require.NoError(t, viewer.Join(ctx, "room"))

	p := whiptest.NewPublisher(t)
	p.Publish(t, base+"/whip/studio", "")
	p.Send(t)
	for range 2 {
		select {
		case ev := <-tracks:
			assert.Equal(t, "studio", ev.Metadata["label"])
			assert.Equal(t, "whip", ev.Metadata["source"])
		case <-ctx.Done():
			t.Fatal("the publisher's tracks never reached the member")
		}
	}
	require.Eventually(t, func() bool { return strings.Contains(errs.String(), "bridging 1 WHIP publisher(s); 1 peer(s)") }, 10*time.Second, 20*time.Millisecond, errs.String())
	stop()
	assert.Equal(t, 130, wait(), errs.String())

	e2, _, errs2 := testEnv(nil)
	assert.Equal(t, 2, run(ctx, e2, []string{"bridge", "-url", srv.URL(), "-key", "pk_test", "-whip", "0.0.0.0:0", "room"}))
	assert.Contains(t, errs2.String(), "set -bearer or $METERED_BRIDGE_TOKEN")
}

// `metered bridge -whep` lets a WHEP player watch a member's stream, found
// in its index.
func TestBridgeServesWHEP(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	e, _, errs := testEnv(nil)
	e.progressEvery = 200 * time.Millisecond
	stop, wait := background(t, e, "bridge", "-url", srv.URL(), "-key", "pk_test", "-whep", "127.0.0.1:0", "-whip", "127.0.0.1:0", "room")
	endpoint := regexp.MustCompile(`WHEP endpoint: (http://\S+/whep/) lists`)
	require.Eventually(t, func() bool { return endpoint.MatchString(errs.String()) }, 10*time.Second, 20*time.Millisecond, errs.String())
	index := endpoint.FindStringSubmatch(errs.String())[1]

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sender, err := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_test"})
	require.NoError(t, err)
	defer sender.Close("")
	require.NoError(t, sender.AddStream(peer.NewMediaStream(peertest.OpusTrack(t, "mic", "desk")), peer.StreamMetadata{"label": "desk"}))
	require.NoError(t, sender.Join(ctx, "room"))

	p := whiptest.NewPlayer(t)
	require.Eventually(t, func() bool {
		return whiptest.Do(t, http.MethodGet, index, "", "", "", nil).ContentLength != 3 // "[]\n"
	}, 10*time.Second, 50*time.Millisecond, "the member's stream is listed")
	resp := p.Watch(t, index+"?label=desk", "")
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	mic := p.Next(t, webrtc.RTPCodecTypeAudio)
	_, _, err = mic.ReadRTP()
	require.NoError(t, err, "the member's audio reaches the player")
	require.Eventually(t, func() bool { return strings.Contains(errs.String(), "1 WHEP player(s)") }, 10*time.Second, 20*time.Millisecond, errs.String())
	stop()
	assert.Equal(t, 130, wait(), errs.String())
}
