package testserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/protocol"
)

func restCall(t *testing.T, s *Server, method, path, auth, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.HTTPURL()+path, strings.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestREST(t *testing.T) {
	s := start(t, Options{})
	auth := DevKeyID + ":" + DevKeySecret
	a, wa := join(t, s)
	a.send(`{"type":"subscribe","channel":"app/room","requestId":"1"}`)
	a.read()
	a.read()
	ch := url.PathEscape("app/room")

	code, body := restCall(t, s, "GET", "/channels/"+ch+"/peers", auth, "")
	require.Equal(t, 200, code)
	assert.Equal(t, "app/room", body["channel"])
	assert.Equal(t, []any{map[string]any{"peerId": wa.PeerID}}, body["peers"])

	code, _ = restCall(t, s, "POST", "/channels/"+ch+"/publish", auth, `{"data":{"x":1},"from":"system"}`)
	require.Equal(t, 200, code)
	assert.Equal(t, `{"type":"message","channel":"app/room","from":"system","data":{"x":1}}`, a.readRaw())

	for _, tc := range []struct {
		method, path, auth, body string
		status                   int
		code                     string
	}{
		{"GET", "/channels/x/peers", "", "", 401, "unauthorized"},
		{"GET", "/channels/x/peers", DevKeyID, "", 401, "unauthorized"},
		{"GET", "/channels/x/peers", "pk_live_x", "", 401, "unauthorized"},
		{"GET", "/channels/" + url.PathEscape("_system/x") + "/peers", auth, "", 400, "channel_reserved"},
		{"POST", "/channels/x/publish", auth, `{}`, 400, "invalid_request"},
		{"POST", "/channels/x/publish", auth, `{"data":"` + strings.Repeat("x", 33<<10) + `"}`, 413, "invalid_request"},
		{"POST", "/tokens", auth, `{"peerId":""}`, 400, "invalid_request"},
		{"DELETE", "/peers/" + url.PathEscape("bad id\x01"), auth, "", 400, "invalid_request"},
	} {
		status, body := restCall(t, s, tc.method, tc.path, tc.auth, tc.body)
		assert.Equal(t, tc.status, status, tc.path)
		assert.Equal(t, tc.code, body["error"], tc.path)
		assert.NotEmpty(t, body["message"], tc.path)
	}

	// Tokens minted over REST connect.
	code, body = restCall(t, s, "POST", "/tokens", auth, `{"peerId":"carol","peerMetadata":{"n":"C"}}`)
	require.Equal(t, 200, code)
	c := dial(t, s, "token="+body["token"].(string), nil)
	w := c.read().(*protocol.Welcome)
	assert.Equal(t, "carol", w.PeerID)
	assert.InDelta(t, body["expiresAt"].(float64), *w.ExpiresAt, 1)

	code, body = restCall(t, s, "DELETE", "/peers/"+wa.PeerID, auth, "")
	require.Equal(t, 200, code)
	assert.Equal(t, float64(1), body["closed"])
	assert.Equal(t, 4020, a.closed())
	_, body = restCall(t, s, "DELETE", "/peers/nobody", auth, "")
	assert.Equal(t, float64(0), body["closed"], "0 is not an error")
}

func TestLateSubscriberLearnsOnce(t *testing.T) {
	// b subscribes while a's snapshot is still held back: b's snapshot lists
	// a, and a's join broadcast must not reach b a second time; when a
	// leaves, b hears it.
	s := start(t, Options{SnapshotDelay: 80 * 1e6})
	a, wa := join(t, s)
	b, wb := join(t, s)
	a.send(`{"type":"subscribe","channel":"r","requestId":"1"}`)
	a.read() // a is a member; its snapshot is still held back
	b.send(`{"type":"subscribe","channel":"r","requestId":"1"}`)
	assert.Equal(t, `{"type":"presence","channel":"r","joined":[],"left":[]}`, a.readRaw())
	b.read()
	assert.Equal(t, `{"type":"presence","channel":"r","joined":[{"peerId":"`+wa.PeerID+`"}],"left":[]}`, b.readRaw())
	assert.Equal(t, `{"type":"presence","channel":"r","joined":[{"peerId":"`+wb.PeerID+`"}],"left":[]}`, a.readRaw())
	b.silent(150 * 1e6)
	a.ws.Close()
	assert.Equal(t, `{"type":"presence","channel":"r","joined":[],"left":[{"peerId":"`+wa.PeerID+`"}]}`, b.readRaw())
}

func TestDemoPageServed(t *testing.T) {
	sdk := filepath.Join(t.TempDir(), "index.mjs")
	require.NoError(t, os.WriteFile(sdk, []byte("export class MeteredPeer {}"), 0o644))
	srv, err := New(Options{DemoSDK: sdk})
	require.NoError(t, err)
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/demo/?channel=x")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "demo.mjs")
	code, body = get("/demo/sdk.mjs")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "MeteredPeer")
	code, body = get("/demo/config.json")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"url":"`+srv.URL()+`","apiKey":"pk_demo"}`, body)
	assert.Equal(t, "http://"+srv.Addr()+"/demo/?channel=room", srv.DemoURL("room"))
	// Without a local SDK the page is still served: TestDemoPageSDKSource.
}

func TestFindDemoSDK(t *testing.T) {
	want := ""
	if p, err := filepath.Abs("../interop/js/node_modules/@metered-ca/realtime/dist/index.mjs"); err == nil {
		if _, err := os.Stat(p); err == nil {
			want = p
		}
	}
	assert.Equal(t, want, FindDemoSDK(), "found from a module folder of the repository")
	t.Chdir(t.TempDir())
	assert.Empty(t, FindDemoSDK(), "nothing outside it")
}

// Without a local copy of the JS SDK the demo page loads the pinned CDN
// release through an import map that carries its integrity hash, and says
// so; with one, it loads the local copy.
func TestDemoPageSDKSource(t *testing.T) {
	get := func(s *Server) string {
		resp, err := http.Get(s.DemoURL("room"))
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	cdn := start(t, Options{})
	page := get(cdn)
	assert.Contains(t, page, `<script type="importmap">`)
	assert.Contains(t, page, `"./sdk.mjs":"`+DemoSDKURL+`"`)
	assert.Contains(t, page, `"`+DemoSDKURL+`":"`+DemoSDKIntegrity+`"`)
	assert.Contains(t, page, "CDN, integrity pinned")

	sdk := filepath.Join(t.TempDir(), "index.mjs")
	require.NoError(t, os.WriteFile(sdk, []byte("export class MeteredPeer {}"), 0o644))
	local := start(t, Options{DemoSDK: sdk})
	page = get(local)
	assert.NotContains(t, page, "importmap")
	assert.Contains(t, page, "local copy")
	resp, err := http.Get("http://" + local.Addr() + "/demo/sdk.mjs")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "export class MeteredPeer {}", string(b))
}
