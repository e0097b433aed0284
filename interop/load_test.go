package interop

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/interop/internal/load"
	"github.com/metered-ca/realtime-go/interop/internal/rmslocal"
)

// TestLoadShort: rms-local in its own process under 100 clients across 10
// channels publishing at their rate limit; nothing lost, nothing twice.
// `make bench` runs the 1,000-connection form.
func TestLoadShort(t *testing.T) {
	srv, err := rmslocal.Start(t.TempDir(), "-rate-limit", "10")
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := load.Run(ctx, load.Config{URL: srv.URL, Conns: 100, Channels: 10, Rate: 10, Duration: 3 * time.Second}, func(s string) { t.Log(s) })
	require.NoError(t, err)
	t.Logf("%+v", res)
	assert.Positive(t, res.Published)
	assert.Zero(t, res.Lost, "acked publishes that never arrived")
	assert.Zero(t, res.Duplicated)
	assert.Equal(t, res.Expected, res.Delivered, "every delivery accounted for")
}
