package protocol

import (
	"errors"
	"net/url"
	"strings"
)

// URLError reports a base URL that the client refuses. It never echoes
// query strings or user info, which may hold credentials.
type URLError struct {
	Reason string
}

func (e *URLError) Error() string { return "protocol: bad base URL: " + e.Reason }

// IsLocalHost reports whether host (a URL hostname, brackets stripped) is one
// the JS SDK treats as localhost: localhost, 127.0.0.1 or ::1.
func IsLocalHost(host string) bool {
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1", "[::1]":
		return true
	}
	return false
}

// NormalizeBaseURL applies the JS SDK's validateBaseUrl rules and returns the
// origin that the client keeps: "wss://host[:port]" with the host
// lower-cased and a default port dropped. Only wss is accepted, and ws only
// for localhost; the path must be empty or "/", with no query or fragment.
// An empty raw selects DefaultURL.
func NormalizeBaseURL(raw string) (string, error) {
	if raw == "" {
		raw = DefaultURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", &URLError{"not a parseable absolute URL"}
	}
	host := strings.ToLower(u.Hostname())
	switch u.Scheme {
	case "wss":
	case "ws":
		if !IsLocalHost(host) {
			return "", &URLError{"insecure ws: is only allowed for localhost; the credential travels in the query string, use wss:"}
		}
	default:
		return "", &URLError{"scheme must be wss: (or ws: for localhost), got " + u.Scheme + ":"}
	}
	if u.Path != "" && u.Path != "/" {
		return "", &URLError{"must be an origin without a path (the client appends " + WSPath + " itself)"}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", &URLError{"must not carry a query string or fragment"}
	}
	port := u.Port()
	if (u.Scheme == "wss" && port == "443") || (u.Scheme == "ws" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, nil
}

// Credential names the one query parameter a connect URL carries.
type Credential struct {
	// Param is "key" for a publishable key or "token" for a JWT.
	Param string
	Value string
}

// ConnectURL builds origin + "/v1?" + param + "=" + value, with the value
// escaped exactly as JavaScript's encodeURIComponent does.
func ConnectURL(origin string, c Credential) (string, error) {
	if c.Param != "key" && c.Param != "token" {
		return "", errors.New(`protocol: credential param must be "key" or "token"`)
	}
	return origin + WSPath + "?" + c.Param + "=" + EncodeURIComponent(c.Value), nil
}

// EncodeURIComponent escapes s as JavaScript's encodeURIComponent: it keeps
// A-Z a-z 0-9 - _ . ! ~ * ' ( ) and percent-encodes every other UTF-8 byte
// with upper-case hex.
func EncodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if uriUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

func uriUnreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()", c) >= 0
}
