// Command presence starts the local RMS server in-process, joins two Go clients
// to one channel and shows presence, channel messages and direct messages
// flowing between them. With METERED_API_KEY set it uses the real service
// instead of the local server.
//
//	go run ./examples/presence
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

var start = time.Now()

func say(who, format string, args ...any) {
	fmt.Printf("%6.3fs  %-6s %s\n", time.Since(start).Seconds(), who, fmt.Sprintf(format, args...))
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	url, key := "", os.Getenv("METERED_API_KEY")
	if key == "" {
		srv, err := testserver.New(testserver.Options{})
		if err != nil {
			return err
		}
		defer srv.Close()
		url, key = srv.URL(), "pk_demo"
		say("server", "local RMS server listening on %s", url)
	} else {
		say("server", "using the Metered service (METERED_API_KEY is set)")
	}
	channel := fmt.Sprintf("demo-room-%d", time.Now().Unix())

	alice, err := join(ctx, "alice", url, key, channel)
	if err != nil {
		return err
	}
	defer alice.Close()
	// Registered before bob exists, so no event can slip past.
	joined, left, direct := make(chan string, 8), make(chan string, 8), make(chan struct{}, 1)
	signalling.On(alice, func(p signalling.Presence) {
		for _, j := range p.Joined {
			joined <- j.PeerID
		}
		for _, l := range p.Left {
			left <- l.PeerID
		}
	})
	signalling.On(alice, func(signalling.Direct) { direct <- struct{}{} })

	bob, err := join(ctx, "bob", url, key, channel)
	if err != nil {
		return err
	}
	defer bob.Close()
	message := make(chan struct{}, 1)
	signalling.On(bob, func(signalling.Message) { message <- struct{}{} })
	if err := waitPeer(joined, bob.PeerID(), "alice to see bob"); err != nil {
		return err
	}

	say("alice", "publishes to %s", channel)
	if err := alice.Publish(ctx, channel, map[string]string{"text": "hello everyone"}); err != nil {
		return err
	}
	if err := wait(message, "bob to get the message"); err != nil {
		return err
	}
	say("bob", "sends alice a direct message")
	if err := bob.Send(ctx, alice.PeerID(), map[string]string{"text": "hi alice, bob here"}); err != nil {
		return err
	}
	if err := wait(direct, "alice to get the direct message"); err != nil {
		return err
	}
	say("bob", "leaves")
	if err := bob.Close(); err != nil {
		return err
	}
	if err := waitPeer(left, bob.PeerID(), "alice to see bob leave"); err != nil {
		return err
	}
	say("demo", "done: presence, channel and direct messages all worked")
	return nil
}

func wait[T any](ch <-chan T, what string) error {
	select {
	case <-ch:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("timed out waiting for %s", what)
	}
}

func waitPeer(ch <-chan string, peer, what string) error {
	deadline := time.After(10 * time.Second)
	for {
		select {
		case id := <-ch:
			if id == peer {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("timed out waiting for %s", what)
		}
	}
}

// join connects a client, prints everything it hears, and subscribes.
func join(ctx context.Context, name, url, key, channel string) (*signalling.Client, error) {
	c, err := signalling.New(signalling.Options{URL: url, APIKey: key})
	if err != nil {
		return nil, err
	}
	signalling.On(c, func(ev signalling.Connected) { say(name, "connected as %s", ev.PeerID) })
	signalling.On(c, func(ev signalling.Presence) {
		for _, p := range ev.Joined {
			say(name, "sees %s in %s", p.PeerID, ev.Channel)
		}
		for _, p := range ev.Left {
			say(name, "sees %s leave %s", p.PeerID, ev.Channel)
		}
	})
	signalling.On(c, func(m signalling.Message) { say(name, "got %s from %s on %s", m.Data, m.From, m.Channel) })
	signalling.On(c, func(d signalling.Direct) { say(name, "got direct %s from %s", d.Data, d.From) })
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	if err := c.Subscribe(ctx, channel); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
