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
// every message, broadcasts each stdin line, and takes the commands
// chatHelp lists. It ends at the end of stdin, on /quit or on Ctrl-C.
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
	r := &room{ids: map[string]bool{}}
	signalling.On(c, func(p signalling.Presence) {
		for _, j := range p.Joined {
			r.join(j.PeerID)
			fmt.Fprintf(e.stdout, "+ %s joined\n", j.PeerID)
		}
		for _, l := range p.Left {
			r.leave(l.PeerID)
			fmt.Fprintf(e.stdout, "- %s left\n", l.PeerID)
		}
		fmt.Fprintf(e.stderr, "roster: %s\n", strings.Join(r.list(), ", "))
	})
	signalling.On(c, func(m signalling.Message) { fmt.Fprintf(e.stdout, "<%s> %s\n", m.From, text(m.Data)) })
	signalling.On(c, func(d signalling.Direct) { fmt.Fprintf(e.stdout, "[dm %s] %s\n", d.From, text(d.Data)) })
	if err := c.Connect(ctx); err != nil {
		return fmt.Errorf("connecting to %s: %w", serverName(o.URL), err)
	}
	// Only now: a failed first connect is the one error above, not also
	// a disconnection.
	signalling.On(c, func(ev signalling.Disconnected) {
		fmt.Fprintf(e.stderr, "disconnected: %d %s (reconnecting: %v)\n", ev.Code, ev.Reason, ev.WillReconnect)
	})
	if err := c.Subscribe(ctx, channel); err != nil {
		return fmt.Errorf("joining %s on %s: %w", channel, serverName(o.URL), err)
	}
	fmt.Fprintf(e.stderr, "joined %s as %s; type to talk, /help for commands\n", channel, c.PeerID())

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
			quit, err := r.say(ctx, e, c, channel, line)
			if err != nil {
				fmt.Fprintf(e.stderr, "not sent: %v\n", err)
			}
			if quit {
				return nil
			}
		}
	}
}

const chatHelp = `commands:
  text          send text to everyone in the channel
  /dm PEER text send text to one peer (any unique start of its id)
  /who          list the peers in the channel
  /quit         leave (so does the end of input, or Ctrl-C)
  /help         this list
  //text        send text that starts with a slash
`

// room is the channel's roster as presence tells it.
type room struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (r *room) join(id string) {
	r.mu.Lock()
	r.ids[id] = true
	r.mu.Unlock()
}

func (r *room) leave(id string) {
	r.mu.Lock()
	delete(r.ids, id)
	r.mu.Unlock()
}

func (r *room) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.ids))
	for id := range r.ids {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// resolve finds the one peer whose id starts with prefix.
func (r *room) resolve(prefix string) (string, error) {
	var found []string
	for _, id := range r.list() {
		if id == prefix {
			return id, nil
		}
		if strings.HasPrefix(id, prefix) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no peer in the channel has an id starting %q (/who lists them)", prefix)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%q could be %s: give more of the id", prefix, strings.Join(found, ", "))
}

// say acts on one line of input: a command, or text for the channel. It
// tells whether the line was /quit.
func (r *room) say(ctx context.Context, e *env, c *signalling.Client, channel, line string) (quit bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return false, nil
	}
	if strings.HasPrefix(line, "//") {
		return false, c.Publish(ctx, channel, map[string]string{"text": line[1:]})
	}
	if !strings.HasPrefix(line, "/") {
		return false, c.Publish(ctx, channel, map[string]string{"text": line})
	}
	name, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch name {
	case "/quit", "/exit":
		return true, nil
	case "/help":
		fmt.Fprint(e.stderr, chatHelp)
		return false, nil
	case "/who":
		fmt.Fprintf(e.stderr, "in %s: %s\n", channel, strings.Join(r.list(), ", "))
		return false, nil
	case "/dm":
		prefix, msg, _ := strings.Cut(rest, " ")
		msg = strings.TrimSpace(msg)
		if prefix == "" || msg == "" {
			return false, fmt.Errorf("usage: /dm PEER text")
		}
		id, err := r.resolve(prefix)
		if err != nil {
			return false, err
		}
		return false, c.Send(ctx, id, map[string]string{"text": msg})
	}
	return false, fmt.Errorf("unknown command %s (/help lists them; //text sends text that starts with a slash)", name)
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
