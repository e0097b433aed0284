// Command metered runs realtime-go's everyday jobs without writing code:
//
//	metered serve                     the local RMS server, with the demo page
//	metered chat CHANNEL              presence roster; stdin lines broadcast, /help for commands
//	metered play FILE CHANNEL         play a media file into a channel
//	metered record CHANNEL DIR        record every remote peer's tracks to DIR
//	metered bridge RTSP_URL CHANNEL   put an RTSP camera into a channel
//	metered bridge -whip ADDR CHANNEL take WHIP publishers (OBS, GStreamer) into a channel
//	metered bridge -whep ADDR CHANNEL let WHEP players watch a channel's streams
//	metered agent CHANNEL             a voice agent: hears each peer, answers in speech (offline by default)
//
// Every command but serve takes -url, -key or -token (a JWT), defaulting to
// $METERED_URL, $METERED_API_KEY and $METERED_TOKEN, so that working against
// a local `metered serve` needs no flags (serve prints the line to paste),
// and -v. -h or --help prints help on stdout. Progress goes to stderr: a
// line rewritten in place on a terminal, a plain line every 10 s when
// stderr is a file or a pipe. Ctrl-C shuts down cleanly and exits 130 (a
// shell's convention for an interrupted command); a failure exits 1 with
// a one-line reason that names the file, URL or peer. `metered version`
// prints the version.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// errUsage marks a mistake in the command line: exit status 2.
var errUsage = errors.New("usage")

// helpRequest is a command's -h or --help: its flags, printed on stdout,
// exit status 0.
type helpRequest struct{ flags string }

func (*helpRequest) Error() string { return "help requested" }

type command struct {
	name, args, help string
	run              func(ctx context.Context, e *env, args []string) error
}

var commands = []command{
	{"serve", "", "run the local RMS server (and its demo page)", serve},
	{"chat", "CHANNEL", "join a channel: roster, broadcast stdin lines, /help for commands", chat},
	{"play", "FILE CHANNEL", "play a media file into a channel", play},
	{"record", "CHANNEL DIR", "record every remote peer's tracks to DIR", record},
	{"bridge", "RTSP_URL CHANNEL | -whip/-whep ADDR CHANNEL", "put an RTSP camera or WHIP publishers (OBS) into a channel; WHEP players watch it", bridge},
	{"agent", "CHANNEL", "a voice agent: speech recognition, a scripted dialogue or -llm-url, speech (offline by default)", agent},
}

// env is what a command reads and writes: swapped in tests.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// progressEvery is how often progress is printed as a plain line when
	// stderr is not a terminal (0: every 10 s).
	progressEvery time.Duration
}

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		// A second Ctrl-C gets the default: the process ends at once.
		signal.Stop(sigs)
		cancel(interrupted{s})
	}()
	os.Exit(run(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:]))
}

// interrupted is the cause of a command's end by a signal.
type interrupted struct{ sig os.Signal }

func (i interrupted) Error() string { return i.sig.String() }

// interruptedStatus is the exit status of a command stopped by its
// context: 128 plus the signal's number, as shells expect (130 for
// Ctrl-C, 143 for SIGTERM); 130 when no signal is known.
func interruptedStatus(ctx context.Context) int {
	var in interrupted
	if errors.As(context.Cause(ctx), &in) {
		if n, ok := in.sig.(syscall.Signal); ok {
			return 128 + int(n)
		}
	}
	return 130
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	switch args[0] {
	case "-h", "help", "--help", "-help":
		usage(e.stdout)
		return 0
	case "version", "-version", "--version":
		fmt.Fprintln(e.stdout, "metered", version())
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		var help *helpRequest
		switch {
		case errors.As(err, &help):
			fmt.Fprintf(e.stdout, "usage: metered %s [flags] %s\n%s\n\nflags:\n%s", c.name, c.args, c.help, help.flags)
			return 0
		case ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.Cause(ctx))):
			return interruptedStatus(ctx) // stopped by Ctrl-C
		case err == nil:
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(e.stderr, "metered %s: %v\nusage: metered %s %s\n", c.name, err, c.name, c.args)
			return 2
		default:
			fmt.Fprintf(e.stderr, "metered %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(e.stderr, "metered: unknown command %q\n", args[0])
	usage(e.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: metered COMMAND [flags] ARGS…")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-7s %-18s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "Run `metered COMMAND -h` for a command's flags, `metered version` for the version.")
}

// version is the module version the binary was built from: v0.1.0 for
// `go install …/cmd/metered@v0.1.0`, "(devel)" for a build in a checkout.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" {
		return "(devel)"
	}
	return info.Main.Version
}
