package testserver

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/metered-ca/realtime-go/protocol"
)

const maxRESTBody = 32 << 10

func (s *Server) routeREST(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/channels/{id}/peers", s.restListPeers)
	mux.HandleFunc("POST /v1/channels/{id}/publish", s.restPublish)
	mux.HandleFunc("DELETE /v1/peers/{id}", s.restKick)
	mux.HandleFunc("POST /v1/tokens", s.restMintToken)
}

func restError(w http.ResponseWriter, status int, code protocol.ErrorCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": string(code), "message": msg})
}

func restJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// restAuth accepts "Authorization: Bearer sk_id_…:sk_secret_…" only.
func (s *Server) restAuth(w http.ResponseWriter, r *http.Request) (*tenantState, *SecretKey, bool) {
	cred, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	kid, secret, found := strings.Cut(cred, ":")
	if ok && found {
		for _, t := range s.tenants {
			for i := range t.SecretKeys {
				k := &t.SecretKeys[i]
				if k.ID == kid && k.Secret == secret {
					return t, k, true
				}
			}
		}
	}
	restError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid secret key")
	return nil, nil, false
}

// restChannel checks the channel and the key's scope for action.
func (s *Server) restChannel(w http.ResponseWriter, r *http.Request, k *SecretKey, action string) (string, bool) {
	ch := r.PathValue("id")
	if err := protocol.ValidateChannelServer(ch); err != nil {
		code := protocol.ErrorCode("invalid_request")
		if protocol.IsReservedChannel(ch) {
			code = protocol.CodeChannelReserved
		}
		restError(w, http.StatusBadRequest, code, err.Error())
		return "", false
	}
	if !actionSet(k.Actions)[action] {
		restError(w, http.StatusForbidden, protocol.CodeActionNotPermitted, "key lacks the "+action+" action")
		return "", false
	}
	if !matchAny(patternsOr(k.ChannelPatterns), ch) {
		restError(w, http.StatusForbidden, protocol.CodeChannelNotAuthorized, "channel not covered by the key")
		return "", false
	}
	return ch, true
}

func (s *Server) restListPeers(w http.ResponseWriter, r *http.Request) {
	t, k, ok := s.restAuth(w, r)
	if !ok {
		return
	}
	ch, ok := s.restChannel(w, r, k, ActionPresence)
	if !ok {
		return
	}
	type peer struct {
		PeerID   string          `json:"peerId"`
		Metadata json.RawMessage `json:"metadata,omitempty"`
	}
	s.mu.Lock()
	list := t.presence(ch, nil)
	s.mu.Unlock()
	peers := make([]peer, 0, len(list))
	for _, p := range list {
		peers = append(peers, peer{p.PeerID, p.Metadata})
	}
	restJSON(w, map[string]any{"channel": ch, "peers": peers})
}

func (s *Server) restPublish(w http.ResponseWriter, r *http.Request) {
	t, k, ok := s.restAuth(w, r)
	if !ok {
		return
	}
	ch, ok := s.restChannel(w, r, k, ActionPublish)
	if !ok {
		return
	}
	var body struct {
		Data         json.RawMessage `json:"data"`
		From         string          `json:"from"`
		PeerMetadata json.RawMessage `json:"peerMetadata"`
	}
	if !readBody(w, r, &body) {
		return
	}
	if body.Data == nil {
		restError(w, http.StatusBadRequest, "invalid_request", "data is required")
		return
	}
	// from is admin-asserted: the caller holds the secret key, which may
	// mint any identity anyway. It must still be a peer id, and the
	// metadata within the documented cap.
	if body.From == "" {
		body.From = "system"
	}
	if err := protocol.ValidatePeerIDServer(body.From); err != nil {
		restError(w, http.StatusBadRequest, protocol.CodeInvalidPeerID, "from: "+err.Error())
		return
	}
	var meta []byte
	if protocol.IsObject(body.PeerMetadata) {
		if len(body.PeerMetadata) > MaxTokenPeerMetadata {
			restError(w, http.StatusBadRequest, "invalid_request", "peerMetadata over 4 KB")
			return
		}
		meta = body.PeerMetadata
	}
	// REST publishes pay as WebSocket ones do: the tenant's quota, and a
	// rate limit per secret key.
	s.mu.Lock()
	if t.restRate == nil {
		t.restRate = map[string]*bucket{}
	}
	b := t.restRate[k.ID]
	if b == nil {
		nb := newBucket(s.opts.RateLimit)
		b = &nb
		t.restRate[k.ID] = b
	}
	limited := !b.take(s.opts.RateLimit)
	over := !limited && t.countMessageLocked()
	s.mu.Unlock()
	switch {
	case limited:
		restError(w, http.StatusTooManyRequests, "over_message_rate", "more than the rate limit allows for this key")
		return
	case over:
		restError(w, http.StatusTooManyRequests, protocol.CodeOverMessageQuota, "message quota used up")
		return
	}
	s.fanOut(t, ch, body.From, meta, body.Data, nil)
	restJSON(w, map[string]any{"channel": ch, "published": true})
}

func (s *Server) restKick(w http.ResponseWriter, r *http.Request) {
	t, _, ok := s.restAuth(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if protocol.ValidatePeerIDServer(id) != nil {
		restError(w, http.StatusBadRequest, "invalid_request", "invalid peer id")
		return
	}
	restJSON(w, map[string]any{"peerId": id, "closed": s.Kick(t.ID, id)})
}

func (s *Server) restMintToken(w http.ResponseWriter, r *http.Request) {
	_, k, ok := s.restAuth(w, r)
	if !ok {
		return
	}
	var body struct {
		PeerID       string          `json:"peerId"`
		Channels     []string        `json:"channels"`
		Permissions  []string        `json:"permissions"`
		ExpiresInSec int             `json:"expiresInSec"`
		Metadata     json.RawMessage `json:"metadata"`
		PeerMetadata json.RawMessage `json:"peerMetadata"`
	}
	if !readBody(w, r, &body) {
		return
	}
	switch {
	case protocol.ValidatePeerIDServer(body.PeerID) != nil:
		restError(w, http.StatusBadRequest, "invalid_request", "peerId must be 1-128 bytes of printable ASCII")
		return
	case len(body.Channels) > 100 || len(body.Permissions) > 16:
		restError(w, http.StatusBadRequest, "invalid_request", "too many channels or permissions")
		return
	case body.ExpiresInSec < 0 || body.ExpiresInSec > 86400:
		restError(w, http.StatusBadRequest, "invalid_request", "expiresInSec must be at most 86400")
		return
	case len(body.Metadata) > 8<<10 || len(body.PeerMetadata) > 4<<10:
		restError(w, http.StatusBadRequest, "invalid_request", "metadata too large")
		return
	}
	if body.ExpiresInSec == 0 {
		body.ExpiresInSec = 3600
	}
	ttl := time.Duration(body.ExpiresInSec) * time.Second
	tok, err := MintToken(k.ID, k.Secret, Claims{Sub: body.PeerID, Channels: body.Channels, Permissions: body.Permissions, Metadata: body.Metadata, PeerMetadata: body.PeerMetadata}, ttl)
	if err != nil {
		restError(w, http.StatusBadRequest, "invalid_request", "metadata must be JSON objects")
		return
	}
	restJSON(w, map[string]any{"token": tok, "expiresAt": time.Now().Add(ttl).Unix()})
}

func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRESTBody+1))
	if err != nil {
		restError(w, http.StatusBadRequest, "invalid_request", "unreadable body")
		return false
	}
	if len(b) > maxRESTBody {
		restError(w, http.StatusRequestEntityTooLarge, "invalid_request", "body larger than 32 KB")
		return false
	}
	if !utf8.Valid(b) {
		restError(w, http.StatusBadRequest, "invalid_request", "body is not valid UTF-8")
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		restError(w, http.StatusBadRequest, "invalid_request", "body is not valid JSON")
		return false
	}
	return true
}
