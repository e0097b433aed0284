package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/metered-ca/realtime-go/testserver"
)

// serve runs the local RMS server until Ctrl-C, then shuts it down
// gracefully (going_away, then close).
func serve(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9292", "listen address")
	sdk := fs.String("demo-sdk", "", "@metered-ca/realtime's dist/index.mjs for the demo page at /demo/ (default: the copy under interop/js when run from the repository, else the pinned release from a CDN)")
	verbose := fs.Bool("v", false, "log every connection to stderr")
	if _, err := parse(fs, e, args, 0); err != nil {
		return err
	}
	opts := testserver.Options{Addr: *addr, DemoSDK: *sdk}
	if opts.DemoSDK == "" {
		opts.DemoSDK = testserver.FindDemoSDK()
	}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	srv, err := testserver.New(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "local RMS server on %s: dev mode: any pk_ key; the public dev secret (kid %s) mints any identity and opens the REST admin API; browsers from loopback origins only. Keep it on this machine.\n", srv.URL(), testserver.DevKeyID)
	fmt.Fprintf(e.stderr, "demo page: %s (%s)\n", srv.DemoURL("demo-room"), srv.DemoSDKSource())
	fmt.Fprintf(e.stderr, "in another terminal: export METERED_URL=%s METERED_API_KEY=pk_local\n", srv.URL())
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "shutting down")
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut, time.Second); err != nil {
		return err
	}
	return ctx.Err()
}
