package testserver_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/metered-ca/realtime-go/testserver"
)

// Start a server on a free loopback port and mint a token it accepts.
func ExampleNew() {
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	tok, _ := testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: "alice"}, time.Hour)
	fmt.Println(strings.HasPrefix(srv.URL(), "ws://127.0.0.1:"), strings.Count(tok, "."))
	// Output: true 2
}

// Fault injection: refuse the next two connection attempts, then drop every
// socket without a close frame.
func ExampleServer_RefuseConnects() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	srv.RefuseConnects(2, testserver.Refusal{Code: 4010, Reason: "over concurrent limit"})
	fmt.Println(srv.DropConnections(""))
	// Output: 0
}
