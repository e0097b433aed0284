// Command rms-local runs the local Metered Realtime Messaging server.
//
//	go run ./testserver/cmd/rms-local -addr 127.0.0.1:9292
//
// Its first line on stdout is "listening on ws://HOST:PORT". In the default
// dev mode any key starting with pk_ is accepted with every action on every
// non-reserved channel, and JWTs signed with -kid/-jwt-secret are accepted.
// -config names a JSON file of tenants (testserver.Tenant) for anything
// stricter. SIGINT or SIGTERM shuts down gracefully (going_away, then 1001).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/metered-ca/realtime-go/testserver"
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
	strict := flag.Bool("strict", false, "refuse pk_ keys that no tenant lists")
	rate := flag.Float64("rate-limit", 100, "per-connection messages per second (burst: twice that); 0 disables")
	verbose := flag.Bool("v", false, "log every connection to stderr")
	demo := flag.Bool("demo", false, "announce the demo page at /demo/ (the JS SDK from -demo-sdk, the repository's npm copy, or else the pinned release from a CDN)")
	demoSDK := flag.String("demo-sdk", "", "path of @metered-ca/realtime's dist/index.mjs for the demo page")
	flag.Parse()
	if *demo && *demoSDK == "" {
		*demoSDK = testserver.FindDemoSDK()
	}

	opts := testserver.Options{Addr: *addr, MaxMessageSize: *maxSize, StrictKeys: *strict, DemoSDK: *demoSDK,
		RateLimit: testserver.RateLimit{PerSecond: *rate, Burst: 2 * *rate, Disabled: *rate <= 0}}
	if *config != "" {
		b, err := os.ReadFile(*config)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &opts.Tenants); err != nil {
			return fmt.Errorf("%s: %w", *config, err)
		}
	} else {
		opts.Tenants = []testserver.Tenant{{ID: testserver.DevTenantID, SecretKeys: []testserver.SecretKey{{ID: *kid, Secret: *secret}}}}
	}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := testserver.New(opts)
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", srv.URL())
	if *demo {
		source := "JS SDK " + testserver.DemoSDKVersion + " from " + testserver.DemoSDKURL + ", integrity pinned"
		if *demoSDK != "" {
			source = "JS SDK: local copy " + *demoSDK
		}
		fmt.Fprintf(os.Stderr, "demo page: %s (%s)\n", srv.DemoURL("demo-room"), source)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "rms-local: shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown, time.Second)
}
