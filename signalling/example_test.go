package signalling_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// Two clients on the embedded local server: one publishes, the other hears
// it. Against the real service, leave URL empty and pass your pk_ key.
func Example() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	alice, _ := signalling.New(signalling.Options{URL: srv.URL(), APIKey: "pk_example"})
	bob, _ := signalling.New(signalling.Options{URL: srv.URL(), APIKey: "pk_example"})
	defer alice.Close()
	defer bob.Close()

	got := make(chan signalling.Message, 1)
	signalling.On(bob, func(m signalling.Message) { got <- m })

	_ = alice.Connect(ctx)
	_ = bob.Connect(ctx)
	_ = bob.Subscribe(ctx, "room")
	_ = alice.Publish(ctx, "room", map[string]string{"text": "hello"})

	m := <-got
	fmt.Printf("bob got %s on %s\n", m.Data, m.Channel)
	// Output: bob got {"text":"hello"} on room
}

// Events streams one event type; the loop ends when the client closes.
func ExampleEvents() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	c, _ := signalling.New(signalling.Options{URL: srv.URL(), APIKey: "pk_example"})
	states := signalling.Events[signalling.StateChange](context.Background(), c)
	_ = c.Connect(context.Background())
	_ = c.Close()
	for ev := range states {
		fmt.Println(ev.From, "→", ev.To)
	}
	// Output:
	// idle → connecting
	// connecting → connected
	// connected → closed
}

// A JWT-authenticated client: the token provider runs before every
// connection attempt, so a reconnect always presents a fresh token.
func ExampleOptions_tokenProvider() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	c, _ := signalling.New(signalling.Options{
		URL: srv.URL(),
		TokenProvider: func(ctx context.Context) (string, error) {
			// In production: ask your backend, which signs with its secret key.
			return testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: "alice"}, time.Hour)
		},
	})
	defer c.Close()
	connected := make(chan signalling.Connected, 1)
	signalling.On(c, func(ev signalling.Connected) { connected <- ev })
	_ = c.Connect(context.Background())
	ev := <-connected
	fmt.Println(ev.PeerID, ev.ExpiresAt.After(time.Now()))
	// Output: alice true
}

// Errors are typed: branch with errors.As.
func ExampleClient_Publish_errors() {
	srv, _ := testserver.New(testserver.Options{MaxMessageSize: 100})
	defer srv.Close()
	c, _ := signalling.New(signalling.Options{URL: srv.URL(), APIKey: "pk_example"})
	defer c.Close()
	ctx := context.Background()
	_ = c.Connect(ctx)

	var tooBig *signalling.OversizedError
	err := c.Publish(ctx, "room", strings.Repeat("x", 200))
	fmt.Println(errors.As(err, &tooBig), tooBig.Size > tooBig.Cap, tooBig.Cap)

	var rejected *signalling.ServerError
	err = c.Send(ctx, "nobody", "hi")
	fmt.Println(errors.As(err, &rejected), rejected.Code)
	// Output:
	// true true 100
	// true peer_not_found
}
