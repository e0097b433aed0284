package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/metered-ca/realtime-go/signalling"
)

// chat joins a channel with the signalling client: it prints the roster and
// every message, broadcasts each stdin line, and sends "/dm PEER text" to
// one peer. It ends at the end of stdin or on Ctrl-C.
func chat(ctx context.Context, e *env, args []string) error {
	var cf connFlags
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	cf.register(fs, e)
	pos, err := parse(fs, e, args, 1)
	if err != nil {
		return err
	}
	channel := pos[0]
	o, err := cf.options(e)
	if err != nil {
		return err
	}
	c, err := signalling.New(o)
	if err != nil {
		return err
	}
	defer c.Close()
	var mu sync.Mutex
	roster := map[string]bool{}
	signalling.On(c, func(p signalling.Presence) {
		mu.Lock()
		defer mu.Unlock()
		for _, j := range p.Joined {
			roster[j.PeerID] = true
			fmt.Fprintf(e.stdout, "+ %s joined\n", j.PeerID)
		}
		for _, l := range p.Left {
			delete(roster, l.PeerID)
			fmt.Fprintf(e.stdout, "- %s left\n", l.PeerID)
		}
		ids := make([]string, 0, len(roster))
		for id := range roster {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		fmt.Fprintf(e.stderr, "roster: %s\n", strings.Join(ids, ", "))
	})
	signalling.On(c, func(m signalling.Message) { fmt.Fprintf(e.stdout, "<%s> %s\n", m.From, text(m.Data)) })
	signalling.On(c, func(d signalling.Direct) { fmt.Fprintf(e.stdout, "[dm %s] %s\n", d.From, text(d.Data)) })
	signalling.On(c, func(ev signalling.Disconnected) {
		fmt.Fprintf(e.stderr, "disconnected: %d %s (reconnecting: %v)\n", ev.Code, ev.Reason, ev.WillReconnect)
	})
	if err := c.Connect(ctx); err != nil {
		return fmt.Errorf("connecting to %s: %w", serverName(o.URL), err)
	}
	if err := c.Subscribe(ctx, channel); err != nil {
		return fmt.Errorf("joining %s on %s: %w", channel, serverName(o.URL), err)
	}
	fmt.Fprintf(e.stderr, "joined %s as %s; type to talk, /dm PEER text for one peer\n", channel, c.PeerID())

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(e.stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case line, ok := <-lines:
			if !ok {
				return nil
			}
			if err := say(ctx, c, channel, line); err != nil {
				fmt.Fprintf(e.stderr, "not sent: %v\n", err)
			}
		}
	}
}

func say(ctx context.Context, c *signalling.Client, channel, line string) error {
	line = strings.TrimSpace(line)
	switch {
	case line == "":
		return nil
	case strings.HasPrefix(line, "/dm "):
		peer, msg, ok := strings.Cut(strings.TrimPrefix(line, "/dm "), " ")
		if !ok {
			return fmt.Errorf("usage: /dm PEER text")
		}
		return c.Send(ctx, peer, map[string]string{"text": msg})
	}
	return c.Publish(ctx, channel, map[string]string{"text": line})
}

// text shows {"text": …} messages as their text, anything else as JSON.
func text(data json.RawMessage) string {
	var m struct {
		Text *string `json:"text"`
	}
	if json.Unmarshal(data, &m) == nil && m.Text != nil {
		return *m.Text
	}
	return string(data)
}
