package interop

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
	"github.com/metered-ca/realtime-go/interop/internal/rmslocal"
	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

func startJS(t *testing.T) *jsdriver.Driver {
	t.Helper()
	d, err := jsdriver.Start("signalling-driver.mjs")
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// goEvents collects a Go client's events of one type.
func goEvents[T signalling.Event](c *signalling.Client) chan T {
	ch := make(chan T, 256)
	signalling.On(c, func(ev T) { ch <- ev })
	return ch
}

func waitGo[T any](t *testing.T, ch chan T, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ok(ev) {
				return ev
			}
		case <-deadline:
			var zero T
			t.Fatalf("no matching %T", zero)
			return zero
		}
	}
}

// TestSignallingInterop runs the official JS SDK and our Go client side by
// side on the rms-local binary: presence, publish and direct both ways, an
// unauthorized channel, and the oversized-payload check at the server's
// advertised cap.
func TestSignallingInterop(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tenants.json")
	require.NoError(t, os.WriteFile(cfg, []byte(`[{"ID":"interop","PublishableKeys":[{"Key":"pk_interop","ChannelPatterns":["room","chat-*"]}]}]`), 0o600))
	srv, err := rmslocal.Start(dir, "-config", cfg, "-max-message-size", "2048")
	require.NoError(t, err)
	defer srv.Close()
	ctx := timeout(t, 60*time.Second)

	goC, err := signalling.New(signalling.Options{URL: srv.URL, APIKey: "pk_interop"})
	require.NoError(t, err)
	defer goC.Close()
	goPres, goMsg, goDir := goEvents[signalling.Presence](goC), goEvents[signalling.Message](goC), goEvents[signalling.Direct](goC)
	require.NoError(t, goC.Connect(ctx))
	require.NoError(t, goC.Subscribe(ctx, "room"))
	waitGo(t, goPres, func(p signalling.Presence) bool { return p.Channel == "room" }) // snapshot

	js := startJS(t)
	_, err = js.Do(ctx, "connect", map[string]any{"url": srv.URL, "apiKey": "pk_interop"})
	require.NoError(t, err)
	ev, err := js.Next(ctx, "connected")
	require.NoError(t, err)
	var welcome struct {
		PeerID         string  `json:"peerId"`
		MaxMessageSize float64 `json:"maxMessageSize"`
	}
	require.NoError(t, json.Unmarshal(ev.Payload, &welcome))
	assert.Equal(t, 2048.0, welcome.MaxMessageSize)
	jsID := welcome.PeerID

	// Presence both ways.
	_, err = js.Do(ctx, "subscribe", map[string]any{"channel": "room"})
	require.NoError(t, err)
	ev, err = js.Next(ctx, "presence")
	require.NoError(t, err)
	assert.Contains(t, string(ev.Payload), `"peerId":"`+goC.PeerID()+`"`, "the JS snapshot lists the Go peer")
	waitGo(t, goPres, func(p signalling.Presence) bool { return len(p.Joined) == 1 && p.Joined[0].PeerID == jsID })

	// Publish both ways.
	require.NoError(t, goC.Publish(ctx, "room", map[string]any{"from": "go", "n": 1}))
	ev, err = js.Next(ctx, "message")
	require.NoError(t, err)
	var msg struct {
		Channel string          `json:"channel"`
		From    string          `json:"from"`
		Data    json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(ev.Payload, &msg))
	assert.Equal(t, "room", msg.Channel)
	assert.Equal(t, goC.PeerID(), msg.From)
	assert.JSONEq(t, `{"from":"go","n":1}`, string(msg.Data))
	_, err = js.Do(ctx, "publish", map[string]any{"channel": "room", "data": map[string]any{"from": "js"}})
	require.NoError(t, err)
	m := waitGo(t, goMsg, func(signalling.Message) bool { return true })
	assert.Equal(t, jsID, m.From)
	assert.JSONEq(t, `{"from":"js"}`, string(m.Data))

	// Direct both ways.
	require.NoError(t, goC.Send(ctx, jsID, "hello js"))
	ev, err = js.Next(ctx, "direct")
	require.NoError(t, err)
	assert.JSONEq(t, `{"from":"`+goC.PeerID()+`","data":"hello js"}`, string(ev.Payload))
	_, err = js.Do(ctx, "send", map[string]any{"to": goC.PeerID(), "data": []int{1, 2}})
	require.NoError(t, err)
	d := waitGo(t, goDir, func(signalling.Direct) bool { return true })
	assert.Equal(t, jsID, d.From)
	assert.Equal(t, `[1,2]`, string(d.Data))

	// An unauthorized channel: the same error code on both sides.
	_, err = js.Do(ctx, "subscribe", map[string]any{"channel": "secret"})
	var jsErr *jsdriver.JSError
	require.ErrorAs(t, err, &jsErr)
	assert.Equal(t, string(protocol.CodeChannelNotAuthorized), jsErr.Name)
	var se *signalling.ServerError
	require.ErrorAs(t, goC.Subscribe(ctx, "secret"), &se)
	assert.Equal(t, jsErr.Name, string(se.Code))

	// Oversized payloads: both refuse locally at the advertised cap. JS
	// measures the payload, Go the whole frame (which is what the server
	// measures: see docs/design.md), so Go's size is the larger.
	big := strings.Repeat("x", 3000)
	_, err = js.Do(ctx, "publish", map[string]any{"channel": "room", "data": big})
	require.ErrorAs(t, err, &jsErr)
	assert.Equal(t, "OversizedPayloadError", jsErr.Name)
	var oe *signalling.OversizedError
	require.ErrorAs(t, goC.Publish(ctx, "room", big), &oe)
	assert.Greater(t, oe.Size, int(jsErr.Size))
	assert.Less(t, oe.Size, int(jsErr.Size)+200, "the envelope and request id")
	assert.Equal(t, int(jsErr.Cap), oe.Cap)
	assert.Equal(t, 2048, oe.Cap)
	// And both connections survived.
	require.NoError(t, goC.Publish(ctx, "room", "still here"))
	_, err = js.Next(ctx, "message")
	require.NoError(t, err)

	// The JS peer leaves; the Go client sees it.
	_, err = js.Do(ctx, "close", nil)
	require.NoError(t, err)
	waitGo(t, goPres, func(p signalling.Presence) bool { return len(p.Left) == 1 && p.Left[0].PeerID == jsID })
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestWireParity has the JS SDK and the Go client do the same things and
// compares every frame they put on the wire, byte for byte once request ids
// (random UUIDs on both sides) are masked.
func TestWireParity(t *testing.T) {
	srv, err := testserver.New(testserver.Options{Record: true})
	require.NoError(t, err)
	defer srv.Close()
	ctx := timeout(t, 60*time.Second)

	// A target for direct sends.
	target, err := signalling.New(signalling.Options{URL: srv.URL(), APIKey: "pk_target"})
	require.NoError(t, err)
	defer target.Close()
	require.NoError(t, target.Connect(ctx))
	to := target.PeerID()

	js := startJS(t)
	_, err = js.Do(ctx, "connect", map[string]any{"url": srv.URL(), "apiKey": "pk_parity"})
	require.NoError(t, err)
	jsConnected, err := js.Next(ctx, "connected")
	require.NoError(t, err)
	var jw struct {
		PeerID string `json:"peerId"`
	}
	require.NoError(t, json.Unmarshal(jsConnected.Payload, &jw))
	for _, step := range []struct {
		cmd  string
		args map[string]any
	}{
		{"subscribe", map[string]any{"channel": "p", "includeSenderMetadata": true}},
		{"subscribe", map[string]any{"channel": "q/é<&>"}},
		{"publish", map[string]any{"channel": "p", "data": map[string]any{"a": []any{1, "x", nil, true, 2.5}}}},
		{"publish", map[string]any{"channel": "p", "data": nil}},
		{"send", map[string]any{"to": to, "data": "hi \"there\"\n"}},
		{"unsubscribe", map[string]any{"channel": "p"}},
	} {
		_, err := js.Do(ctx, step.cmd, step.args)
		require.NoError(t, err, step.cmd)
	}

	goC, err := signalling.New(signalling.Options{URL: srv.URL(), APIKey: "pk_parity"})
	require.NoError(t, err)
	defer goC.Close()
	require.NoError(t, goC.Connect(ctx))
	require.NoError(t, goC.Subscribe(ctx, "p", signalling.WithSenderMetadata()))
	require.NoError(t, goC.Subscribe(ctx, "q/é<&>"))
	require.NoError(t, goC.Publish(ctx, "p", map[string]any{"a": []any{1, "x", nil, true, 2.5}}))
	require.NoError(t, goC.Publish(ctx, "p", nil))
	require.NoError(t, goC.Send(ctx, to, "hi \"there\"\n"))
	require.NoError(t, goC.Unsubscribe(ctx, "p"))

	framesOf := func(peer string) []string {
		var out []string
		for _, f := range srv.Frames() {
			if f.PeerID == peer && f.Dir == "in" && f.Data != `{"type":"ping"}` {
				var probe struct {
					RequestID string `json:"requestId"`
				}
				require.NoError(t, json.Unmarshal([]byte(f.Data), &probe))
				assert.Regexp(t, uuidV4, probe.RequestID, "request ids are UUID v4 like crypto.randomUUID")
				out = append(out, strings.Replace(f.Data, probe.RequestID, "<id>", 1))
			}
		}
		return out
	}
	jsFrames, goFrames := framesOf(jw.PeerID), framesOf(goC.PeerID())
	require.Len(t, jsFrames, 6)
	assert.Equal(t, jsFrames, goFrames)
	var urls []string
	for _, u := range srv.HandshakeURLs() {
		if strings.Contains(u, "parity") {
			urls = append(urls, u)
		}
	}
	assert.Equal(t, []string{"/v1?key=pk_parity", "/v1?key=pk_parity"}, urls)
}
