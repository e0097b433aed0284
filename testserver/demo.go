package testserver

import (
	"bytes"
	"embed"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
)

//go:embed demo/index.html demo/demo.mjs
var demoFiles embed.FS

// The official JS SDK release the demo page loads when no local copy is
// configured: the same bytes npm installs (interop tests check the hash
// against the npm copy), served by a public CDN and verified by the browser
// with Subresource Integrity.
const (
	DemoSDKVersion   = "1.2.0"
	DemoSDKURL       = "https://cdn.jsdelivr.net/npm/@metered-ca/realtime@" + DemoSDKVersion + "/dist/index.mjs"
	DemoSDKIntegrity = "sha384-e59sR6CVmI2C0G4S8BMiOYg5qJ5qk5aR+neswGX6QquX+JF16DV1lrcGbFytND5V"
)

// routeDemo serves the demo page at /demo/: a channel's streams as tiles,
// a chat box and the browser's camera, on the official JS SDK: the local
// copy in Options.DemoSDK (realtime-go does not ship it; `make setup`
// installs it from npm), or else the pinned release from a CDN, remapped
// by an import map that carries its integrity hash.
func (s *Server) routeDemo(mux *http.ServeMux) {
	mux.HandleFunc("GET /demo", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/demo/?"+r.URL.RawQuery, http.StatusFound)
	})
	mux.HandleFunc("GET /demo/", func(w http.ResponseWriter, r *http.Request) {
		page, _ := demoFiles.ReadFile("demo/index.html")
		importMap := ""
		if s.opts.DemoSDK == "" {
			m, _ := json.Marshal(map[string]any{
				"imports":   map[string]string{"./sdk.mjs": DemoSDKURL},
				"integrity": map[string]string{DemoSDKURL: DemoSDKIntegrity},
			})
			importMap = `<script type="importmap">` + string(m) + "</script>\n"
		}
		page = bytes.Replace(page, []byte("{{SDK_SOURCE}}"), []byte(s.DemoSDKSource()), 1)
		page = bytes.Replace(page, []byte("{{SDK_IMPORTMAP}}"), []byte(importMap), 1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("GET /demo/demo.mjs", func(w http.ResponseWriter, r *http.Request) {
		serveEmbedded(w, "demo/demo.mjs", "text/javascript")
	})
	mux.HandleFunc("GET /demo/sdk.mjs", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(s.opts.DemoSDK)
		if s.opts.DemoSDK == "" || err != nil {
			http.Error(w, "JS SDK not available", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /demo/config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"url": s.URL(), "apiKey": s.opts.DemoKey})
	})
}

func serveEmbedded(w http.ResponseWriter, name, contentType string) {
	b, err := demoFiles.ReadFile(name)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(b)
}

// FindDemoSDK looks for the JS SDK module that `make setup` installs
// (interop/js/node_modules/@metered-ca/realtime/dist/index.mjs) from the
// working directory and up to three folders above it, as programs run from
// the repository find it; "" when it is not there.
func FindDemoSDK() string {
	for _, dir := range []string{".", "..", "../..", "../../.."} {
		p := filepath.Join(dir, "interop", "js", "node_modules", "@metered-ca", "realtime", "dist", "index.mjs")
		if _, err := os.Stat(p); err == nil {
			if abs, err := filepath.Abs(p); err == nil {
				return abs
			}
		}
	}
	return ""
}

// DemoURL is the demo page for channel, on this server.
func (s *Server) DemoURL(channel string) string {
	return "http://" + s.ln.Addr().String() + "/demo/?channel=" + channel
}

// DemoSDKSource says where the demo page's JS SDK comes from: the local
// copy (Options.DemoSDK) or the pinned CDN release.
func (s *Server) DemoSDKSource() string {
	if s.opts.DemoSDK != "" {
		return "JS SDK: local copy " + s.opts.DemoSDK
	}
	return "JS SDK " + DemoSDKVersion + " from the CDN, integrity pinned: " + DemoSDKURL
}
