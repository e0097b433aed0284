package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/signalling"
)

// connFlags are the flags every client command shares.
type connFlags struct {
	url, key, token string
	verbose         bool
}

func (f *connFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&f.url, "url", e.getenv("METERED_URL"), "server origin, wss://… or ws://127.0.0.1:9292 (default: the Metered service; $METERED_URL)")
	fs.StringVar(&f.key, "key", e.getenv("METERED_API_KEY"), "publishable key (default $METERED_API_KEY)")
	fs.StringVar(&f.token, "token", e.getenv("METERED_TOKEN"), "a JWT instead of a key (default $METERED_TOKEN)")
	fs.BoolVar(&f.verbose, "v", false, "log the SDK's diagnostics to stderr")
}

// parse reads flags and exactly n positional arguments; -h or --help
// prints the command's flags on stdout and returns errHelp.
func parse(fs *flag.FlagSet, e *env, args []string, n int) ([]string, error) {
	fs.SetOutput(e.stderr)
	fs.Usage = func() {} // flag would print to stderr on -h; help goes to stdout below
	// Flags may come after the arguments too (`metered play clip.webm room
	// -key …`): the flag package stops at the first argument, so parsing
	// resumes after each one; "--" ends the flags.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				var flags strings.Builder
				fs.SetOutput(&flags)
				fs.PrintDefaults()
				return nil, &helpRequest{flags: flags.String()}
			}
			return nil, errUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	if len(pos) != n {
		unit := "arguments"
		if n == 1 {
			unit = "argument"
		}
		return nil, fmt.Errorf("%w: want %d %s, got %d", errUsage, n, unit, len(pos))
	}
	return pos, nil
}

func (f *connFlags) options(e *env) (signalling.Options, error) {
	o := signalling.Options{URL: f.url, APIKey: f.key}
	if f.token != "" {
		token := f.token
		o.APIKey = ""
		o.TokenProvider = func(context.Context) (string, error) { return token, nil }
	}
	if o.APIKey == "" && o.TokenProvider == nil {
		return o, fmt.Errorf("%w: give -key, -token, or set METERED_API_KEY", errUsage)
	}
	if f.verbose {
		o.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return o, nil
}

// joinPeer makes a MeteredPeer, lets setup add tracks and handlers, and
// joins channel.
func (f *connFlags) joinPeer(ctx context.Context, e *env, channel string, setup func(*peer.MeteredPeer) error) (*peer.MeteredPeer, error) {
	o, err := f.options(e)
	if err != nil {
		return nil, err
	}
	p, err := peer.New(peer.Options{URL: o.URL, APIKey: o.APIKey, TokenProvider: o.TokenProvider, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	report(e.stderr, p)
	if setup != nil {
		if err := setup(p); err != nil {
			p.Close("")
			return nil, err
		}
	}
	if err := p.Join(ctx, channel); err != nil {
		p.Close("")
		return nil, fmt.Errorf("joining %s on %s: %w", channel, serverName(o.URL), err)
	}
	fmt.Fprintf(e.stderr, "joined %s as %s\n", channel, p.PeerID())
	return p, nil
}

// report prints peers coming and going, and fatal errors.
func report(w io.Writer, p *peer.MeteredPeer) {
	peer.On(p, func(ev peer.PeerJoined) { fmt.Fprintf(w, "+ %s %s\n", ev.Peer.ID(), ev.Peer.Metadata()) })
	peer.On(p, func(ev peer.PeerLeft) {
		// Our own leaving ends every connection too: that is not the
		// other peer leaving.
		if st := p.State(); st != peer.StateLeaving && st != peer.StateClosed {
			fmt.Fprintf(w, "- %s left\n", ev.Peer.ID())
		}
	})
	peer.On(p, func(ev peer.FatalError) { fmt.Fprintf(w, "fatal: %v\n", ev.Err) })
}

// serverName names the server an error is about (the URL holds no
// credential: keys and tokens travel in the query the SDK adds).
func serverName(url string) string {
	if url == "" {
		return "the Metered service"
	}
	return url
}
