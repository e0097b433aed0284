package bridge_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/bridge"
	"github.com/metered-ca/realtime-go/peer/bridge/whiptest"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/testserver"
)

const testToken = "s3cret-token"

// room is a channel with the bridge's MeteredPeer in it and a WHIP
// endpoint in front of it.
type room struct {
	srv    *testserver.Server
	bridge *peer.MeteredPeer
	whip   *bridge.WHIP
	url    string // the endpoint: POST here
}

func newRoom(t *testing.T, opts bridge.Options) *room {
	t.Helper()
	srv := peertest.NewServer(t)
	b := peertest.NewPeer(t, srv, "bridge")
	require.NoError(t, b.Join(peertest.Context(t, 20*time.Second), "room"))
	if opts.Token == "" && opts.Authorize == nil && !opts.Anonymous {
		opts.Token = testToken
	}
	w, err := bridge.NewWHIP(b, opts)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/whip/", w)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { hs.Close(); _ = w.Close() })
	return &room{srv: srv, bridge: b, whip: w, url: hs.URL + "/whip/cam"}
}

// viewer joins the room and returns its track events.
func (r *room) viewer(t *testing.T, id string) *peertest.Collector[peer.Track] {
	t.Helper()
	v := peertest.NewPeer(t, r.srv, id)
	tracks := make(chan *peertest.Collector[peer.Track], 1)
	peer.Once(v, func(ev peer.PeerJoined) { tracks <- peertest.Watch[peer.Track](ev.Peer) })
	require.NoError(t, v.Join(peertest.Context(t, 20*time.Second), "room"))
	select {
	case c := <-tracks:
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("the viewer never met the bridge")
		return nil
	}
}

func post(t *testing.T, url, contentType, token, body string) *http.Response {
	t.Helper()
	return whiptest.Do(t, http.MethodPost, url, contentType, token, body, nil)
}

func do(t *testing.T, method, url, contentType, token, body string, header http.Header) *http.Response {
	t.Helper()
	return whiptest.Do(t, method, url, contentType, token, body, header)
}
