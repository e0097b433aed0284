// Command rms-local runs the local Metered Realtime Messaging server.
//
//	go run ./testserver/cmd/rms-local -addr 127.0.0.1:9292
//
// Its first line on stdout is "listening on ws://HOST:PORT". In the default
// dev mode any key starting with pk_ is accepted with every action on every
// non-reserved channel, JWTs signed with -kid/-jwt-secret (public defaults)
// are accepted and open the REST admin API, and browsers may connect from
// loopback origins only: it binds loopback, and says all this on start.
// -config names a JSON file of tenants (testserver.Tenant) for anything
// stricter; then only listed keys are accepted. Slow consumers, idle
// sockets and connection counts are bounded (flags below; see
// docs/guides/security.md). SIGINT or SIGTERM shuts down gracefully
// (going_away, then 1001).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/metered-ca/realtime-go/testserver"
	"github.com/metered-ca/realtime-go/testserver/turnserver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rms-local:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:9292", "listen address")
	secret := flag.String("jwt-secret", testserver.DevKeySecret, "HS256 secret of the dev secret key")
	kid := flag.String("kid", testserver.DevKeyID, "key id (JWT kid) of the dev secret key")
	maxSize := flag.Int("max-message-size", 65536, "inbound frame cap in bytes, advertised in welcome")
	config := flag.String("config", "", "JSON file holding a list of tenants (keys, limits); replaces the dev tenant")
	unlisted := flag.Bool("allow-unlisted-keys", false, "with -config: admit pk_ keys that no tenant lists (dev mode always does)")
	origins := flag.String("allowed-origins", "", "dev mode: browser origins accepted besides loopback ones, comma-separated (\"*\": any)")
	maxPending := flag.Int("max-pending-bytes", 4<<20, "bytes that may wait for one connection before it is cut as a slow consumer (close 1008)")
	maxPendingMsgs := flag.Int("max-pending-messages", 16384, "messages that may wait for one connection before it is cut as a slow consumer")
	maxConns := flag.Int("max-connections", 10000, "WebSocket connections in all (more: close 4010)")
	maxPerKey := flag.Int("max-connections-per-key", 2000, "WebSocket connections per key (more: close 4010)")
	idle := flag.Duration("idle-unsubscribed", 2*time.Minute, "close a connection that neither subscribes nor sends for this long")
	rate := flag.Float64("rate-limit", 100, "per-connection messages per second (burst: twice that); 0 disables")
	verbose := flag.Bool("v", false, "log every connection to stderr")
	demo := flag.Bool("demo", false, "announce the demo page at /demo/ (the JS SDK from -demo-sdk, the repository's npm copy, or else the pinned release from a CDN)")
	turnAddr := flag.String("turn", "", "run a TURN relay on this UDP address (\"127.0.0.1:3478\"; port 0: any) and hand short-lived credentials for it out in every welcome")
	turnLifetime := flag.Duration("turn-lifetime", 10*time.Minute, "how long handed-out TURN credentials stay valid")
	demoSDK := flag.String("demo-sdk", "", "path of @metered-ca/realtime's dist/index.mjs for the demo page")
	flag.Parse()
	if *demo && *demoSDK == "" {
		*demoSDK = testserver.FindDemoSDK()
	}

	opts := testserver.Options{Addr: *addr, MaxMessageSize: *maxSize, AllowUnlistedKeys: *unlisted, DemoSDK: *demoSDK,
		RateLimit:       testserver.RateLimit{PerSecond: *rate, Burst: 2 * *rate, Disabled: *rate <= 0},
		MaxPendingBytes: *maxPending, MaxPendingMessages: *maxPendingMsgs, MaxConnections: *maxConns, MaxConnectionsPerKey: *maxPerKey, IdleUnsubscribed: *idle}
	if *origins != "" {
		opts.AllowedOrigins = strings.Split(*origins, ",")
	}
	if *config != "" {
		b, err := os.ReadFile(*config)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &opts.Tenants); err != nil {
			return fmt.Errorf("%s: %w", *config, err)
		}
	} else if *kid != testserver.DevKeyID || *secret != testserver.DevKeySecret {
		opts.DevKey = &testserver.SecretKey{ID: *kid, Secret: *secret}
	}
	if *turnAddr != "" {
		relay, err := turnserver.Start(turnserver.Options{Addr: *turnAddr, Lifetime: *turnLifetime})
		if err != nil {
			return err
		}
		defer relay.Close()
		opts.ICE = relay.ICEServers
		fmt.Fprintf(os.Stderr, "rms-local: TURN relay at %s; every welcome carries credentials for it, valid %v\n", relay.URL(), *turnLifetime)
	}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := testserver.New(opts)
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", srv.URL())
	if srv.DevMode() {
		fmt.Fprintf(os.Stderr, "rms-local: dev mode: any pk_ key is accepted; JWTs signed with the secret of kid %s are accepted "+
			"(the default secret is public: anyone can mint any identity and call the REST admin API with it); "+
			"browsers from loopback origins only%s. Do not expose it beyond this machine (docs/guides/security.md).\n",
			*kid, map[bool]string{true: " and " + *origins, false: ""}[*origins != ""])
	}
	if *demo {
		fmt.Fprintf(os.Stderr, "demo page: %s (%s)\n", srv.DemoURL("demo-room"), srv.DemoSDKSource())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "rms-local: shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown, time.Second)
}
