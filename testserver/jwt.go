package testserver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
)

// Claims are the JWT claims RMS reads.
type Claims struct {
	Sub          string          `json:"sub"`
	Exp          *float64        `json:"exp,omitempty"`
	Nbf          *float64        `json:"nbf,omitempty"`
	Channels     []string        `json:"channels,omitempty"`
	Permissions  []string        `json:"permissions,omitempty"`
	Metadata     json.RawMessage `json:"metadata,omitempty"`
	PeerMetadata json.RawMessage `json:"peerMetadata,omitempty"`
	Iss          string          `json:"iss,omitempty"`
}

// DevTokenProvider returns a token provider (a signalling.TokenProvider)
// for the local server's dev mode: before every connection attempt it
// mints a fresh one-hour token for claims, signed with the public dev key
// (DevKeyID, DevKeySecret). The peer id is claims.Sub. Never use it against
// a real server: the dev secret is public.
func DevTokenProvider(claims Claims) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		return MintToken(DevKeyID, DevKeySecret, claims, time.Hour)
	}
}

// MintToken signs claims as an HS256 JWT with kid, as a customer backend
// does with its secret key. A zero ttl leaves exp out; a negative one mints
// an already expired token.
func MintToken(kid, secret string, claims Claims, ttl time.Duration) (string, error) {
	if ttl != 0 {
		exp := float64(time.Now().Add(ttl).Unix())
		claims.Exp = &exp
	}
	header, _ := json.Marshal(map[string]string{"alg": "HS256", "kid": kid, "typ": "JWT"})
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(body)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

var (
	errBadToken = errors.New("invalid token")
	errExpired  = errors.New("token expired")
)

// The documented claim caps (serialized JSON).
const (
	MaxTokenMetadata     = 8 << 10 // metadata: 8 KB
	MaxTokenPeerMetadata = 4 << 10 // peerMetadata: 4 KB
	// maxTokenBytes bounds a whole token before it is decoded.
	maxTokenBytes = 32 << 10
	// clockSkew is the leeway granted to nbf, as JWT libraries do.
	clockSkew = 30 * time.Second
)

// tokenError is a refusal with the reason the close frame carries.
type tokenError string

func (e tokenError) Error() string { return string(e) }

// verifyToken checks an HS256 JWT against the secret its kid names (lookup
// returns "" for an unknown kid) and returns its claims.
func verifyToken(token string, lookup func(kid string) (secret string, ok bool)) (*Claims, string, error) {
	if len(token) > maxTokenBytes {
		return nil, "", tokenError("token too large")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, "", errBadToken
	}
	enc := base64.RawURLEncoding
	hb, err := enc.DecodeString(parts[0])
	if err != nil {
		return nil, "", errBadToken
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if json.Unmarshal(hb, &header) != nil || header.Alg != "HS256" {
		return nil, "", errBadToken
	}
	secret, ok := lookup(header.Kid)
	if !ok {
		return nil, "", errBadToken
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, "", errBadToken
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, "", errBadToken
	}
	body, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, "", errBadToken
	}
	var c Claims
	if json.Unmarshal(body, &c) != nil || c.Sub == "" {
		return nil, "", errBadToken
	}
	now := float64(time.Now().Unix())
	switch {
	case c.Exp != nil && (math.IsNaN(*c.Exp) || math.IsInf(*c.Exp, 0)):
		return nil, "", tokenError("invalid exp")
	case c.Nbf != nil && (math.IsNaN(*c.Nbf) || math.IsInf(*c.Nbf, 0) || *c.Nbf > now+clockSkew.Seconds()):
		return nil, "", tokenError("token not valid yet (nbf)")
	case len(c.Metadata) > MaxTokenMetadata:
		return nil, "", tokenError("metadata over 8 KB")
	case len(c.PeerMetadata) > MaxTokenPeerMetadata:
		return nil, "", tokenError("peerMetadata over 4 KB")
	case c.Exp != nil && now >= *c.Exp:
		return &c, header.Kid, errExpired
	}
	return &c, header.Kid, nil
}
