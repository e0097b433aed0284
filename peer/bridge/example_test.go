package bridge_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/bridge"
	"github.com/metered-ca/realtime-go/testserver"
)

// A WHIP endpoint in front of a room: OBS publishes to
// http://HOST/whip/studio with the token as its Bearer token, and every
// member of "studio-room" sees the tracks labelled "studio".
func ExampleNewWHIP() {
	srv, _ := testserver.New(testserver.Options{}) // your RMS URL and key in real use
	defer srv.Close()
	room, _ := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_example"})
	defer room.Close("done")
	if err := room.Join(context.Background(), "studio-room"); err != nil {
		fmt.Println(err)
		return
	}
	whip, err := bridge.NewWHIP(room, bridge.Options{Token: "obs-stream-key"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer whip.Close()
	mux := http.NewServeMux()
	mux.Handle("/whip/", whip)
	hs := httptest.NewServer(mux) // http.ListenAndServe(":8080", mux) in real use
	defer hs.Close()

	// A publisher without the token is refused.
	resp, _ := http.Post(hs.URL+"/whip/studio", "application/sdp", strings.NewReader("v=0\r\n"))
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 401 Unauthorized
}
