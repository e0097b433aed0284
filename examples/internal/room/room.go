// Package room gives the examples a place to meet: the local RMS server in
// process by default, or the Metered service when METERED_API_KEY is set.
package room

import (
	"fmt"
	"os"
	"time"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// Open returns client options for the chosen server and a function that
// stops the local one.
func Open() (signalling.Options, func(), error) {
	if key := os.Getenv("METERED_API_KEY"); key != "" {
		return signalling.Options{APIKey: key}, func() {}, nil
	}
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		return signalling.Options{}, nil, err
	}
	return signalling.Options{URL: srv.URL(), APIKey: "pk_local"}, func() { _ = srv.Close() }, nil
}

// Channel is a channel name of its own for one run.
func Channel(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }

// NewPeer makes a MeteredPeer on o.
func NewPeer(o signalling.Options) (*peer.MeteredPeer, error) {
	return peer.New(peer.Options{URL: o.URL, APIKey: o.APIKey, TokenProvider: o.TokenProvider, Logger: o.Logger})
}
