package testserver

import (
	"embed"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
)

//go:embed demo/index.html demo/demo.mjs
var demoFiles embed.FS

// routeDemo serves the demo page at /demo/: a channel's streams as tiles,
// a chat box and the browser's camera, on the official JS SDK. The SDK's
// ES module is read from Options.DemoSDK (realtime-go does not ship it;
// `make setup` installs it from npm); without it /demo/ explains that.
func (s *Server) routeDemo(mux *http.ServeMux) {
	mux.HandleFunc("GET /demo", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/demo/?"+r.URL.RawQuery, http.StatusFound)
	})
	mux.HandleFunc("GET /demo/", func(w http.ResponseWriter, r *http.Request) {
		if s.opts.DemoSDK == "" {
			http.Error(w, "the demo page needs the JS SDK: start the server with Options.DemoSDK (rms-local -demo-sdk) pointing at @metered-ca/realtime's dist/index.mjs", http.StatusNotFound)
			return
		}
		serveEmbedded(w, "demo/index.html", "text/html; charset=utf-8")
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
