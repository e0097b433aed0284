package protocol

import "regexp"

// The patterns Scrub removes. Each keeps the field name and replaces only the
// secret value with "***", so a scrubbed message still says what it was.
var scrubRules = []struct {
	re   *regexp.Regexp
	repl string
}{
	// ?key=… and &token=… in URLs (percent-encoded or not).
	{regexp.MustCompile(`([?&](?:token|key)=)[^&\s"']*`), "${1}***"},
	// SDP and JSON/URL fields holding ICE or TURN secrets: a=ice-pwd:…,
	// "credential":"…", password=…; anchored so usernameFragment is kept.
	{regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_-])(ice-pwd|ice-ufrag|credential|password|username)("?\s*[:=]\s*)(?:"[^"]*"|'[^']*')?[^\s,;"'}]*`), `${1}${2}${3}***`},
	// Compact JWS: three base64url parts, the first a JSON header.
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`), "***"},
	// Bearer credentials (REST auth headers).
	{regexp.MustCompile(`(?i)(bearer\s+)[^\s"',;]+`), "${1}***"},
	// Metered key material: publishable keys and secret-key secrets.
	{regexp.MustCompile(`\b((?:pk|sk_secret)_)[A-Za-z0-9_-]+`), "${1}***"},
}

// Scrub removes credentials from text bound for a log line or an error
// message: key/token query values, JWTs, bearer tokens, API keys, secret-key
// secrets, TURN usernames and credentials and SDP ice-pwd/ice-ufrag values.
// It is idempotent and safe on text that holds none of them.
func Scrub(s string) string {
	for _, r := range scrubRules {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

// ScrubError returns err unchanged when its message holds no secret, and
// otherwise an error with the scrubbed message. The original is deliberately
// not reachable through Unwrap, so no caller can print the secret by accident.
func ScrubError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := Scrub(msg)
	if clean == msg {
		return err
	}
	return scrubbedError(clean)
}

type scrubbedError string

func (e scrubbedError) Error() string { return string(e) }
