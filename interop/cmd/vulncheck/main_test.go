package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseKeepsReachableFindings: of govulncheck's stream, only findings
// whose trace starts at a function count, one per vulnerability.
func TestParseKeepsReachableFindings(t *testing.T) {
	stream := `{"config":{"protocol_version":"v1.0.0"}}
{"progress":{"message":"Scanning your code"}}
{"osv":{"id":"GO-2026-0001"}}
{"finding":{"osv":"GO-2026-0001","fixed_version":"v0.60.0","trace":[{"module":"golang.org/x/net","version":"v0.50.0","package":"golang.org/x/net/http2","function":"ReadFrame","receiver":"*Framer"},{"module":"example.com/m","package":"example.com/m","function":"main"}]}}
{"finding":{"osv":"GO-2026-0001","fixed_version":"v0.60.0","trace":[{"module":"golang.org/x/net","version":"v0.50.0","package":"golang.org/x/net/http2","function":"WriteData","receiver":"*Framer"}]}}
{"finding":{"osv":"GO-2026-0002","fixed_version":"v1.2.0","trace":[{"module":"example.com/dep","version":"v1.0.0","package":"example.com/dep"}]}}
{"finding":{"osv":"GO-2026-0003","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http","function":"CanonicalHeaderKey"}]}}
`
	fs, err := parse(strings.NewReader(stream))
	require.NoError(t, err)
	require.Len(t, fs, 2, "the package-level finding does not count; one per vulnerability")
	assert.Equal(t, finding{id: "GO-2026-0001", module: "golang.org/x/net", version: "v0.50.0", symbol: "golang.org/x/net/http2.Framer.ReadFrame", fixed: "v0.60.0"}, fs[0])
	assert.Equal(t, "stdlib", fs[1].module)
	_, err = parse(strings.NewReader(`{"finding":`))
	assert.Error(t, err, "a cut stream is an error, not zero findings")
}
