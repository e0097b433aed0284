package bridge

import (
	"crypto/subtle"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/pion/webrtc/v4"
)

// The media types of WHIP and WHEP bodies.
const (
	contentSDP     = "application/sdp"
	contentSDPFrag = "application/trickle-ice-sdpfrag"
)

// auth is how an endpoint checks a request's Bearer token.
type auth struct {
	token     string
	authorize func(r *http.Request, token string) bool
	anonymous bool
}

// ok tells whether r may use the endpoint.
func (a auth) ok(r *http.Request) bool {
	if a.anonymous {
		return true
	}
	token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found || token == "" {
		return false
	}
	if a.authorize != nil {
		return a.authorize(r, token)
	}
	return subtle.ConstantTimeCompare([]byte(token), []byte(a.token)) == 1
}

func (a auth) check() error {
	if a.token == "" && a.authorize == nil && !a.anonymous {
		return fmt.Errorf("%w: set Token or Authorize, or Anonymous for a private listener", ErrNoAuth)
	}
	return nil
}

// refuse answers with status and a one-line reason (never a secret).
func refuse(w http.ResponseWriter, status int, reason string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="metered"`)
	}
	http.Error(w, reason, status)
}

// hasType tells whether r's body is of media type want.
func hasType(r *http.Request, want string) bool {
	t, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && strings.EqualFold(t, want)
}

// cors lets a page of any origin use the endpoint (its token is what
// guards it) and read the headers WHIP answers with.
func cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, GET, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch, Accept-Post")
}

// linkICEServers writes servers as RFC 9725 Link headers. Credentials go
// only to a request that authenticated and, unless toAll, came over
// loopback: a TURN credential is the room's to spend.
func linkICEServers(w http.ResponseWriter, r *http.Request, servers []webrtc.ICEServer, authed, toAll bool) {
	credentials := authed && (toAll || fromLoopback(r))
	for _, s := range servers {
		cred, _ := s.Credential.(string)
		for _, u := range s.URLs {
			secret := strings.HasPrefix(u, "turn")
			switch {
			case secret && !credentials:
				continue
			case secret && s.Username != "":
				w.Header().Add("Link", fmt.Sprintf(`<%s>; rel="ice-server"; username=%q; credential=%q; credential-type="password"`, u, s.Username, cred))
			default:
				w.Header().Add("Link", fmt.Sprintf(`<%s>; rel="ice-server"`, u))
			}
		}
	}
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// lastElement is the last non-empty element of a URL path.
func lastElement(path string) string {
	path = strings.TrimRight(path, "/")
	return path[strings.LastIndexByte(path, '/')+1:]
}
