package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/bridge/whiptest"
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
	require.Eventually(t, func() bool { return strings.Contains(errs.String(), "bridging WHIP: 1 publisher(s) to 1 peer(s)") }, 10*time.Second, 20*time.Millisecond, errs.String())
	stop()
	assert.Equal(t, 130, wait(), errs.String())

	e2, _, errs2 := testEnv(nil)
	assert.Equal(t, 2, run(ctx, e2, []string{"bridge", "-url", srv.URL(), "-key", "pk_test", "-whip", "0.0.0.0:0", "room"}))
	assert.Contains(t, errs2.String(), "set -whip-token or $METERED_WHIP_TOKEN")
}
