package peer

import (
	"sync"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/stretchr/testify/require"
)

// Binding streams while the connection closes (pion closes it from its own
// goroutine when DTLS fails): no race, and nothing bound after the close.
func TestStatsBindRacesClose(t *testing.T) {
	t.Parallel()
	for range 50 {
		f, err := stats.NewInterceptor()
		require.NoError(t, err)
		i, err := closeGuardFactory{f}.NewInterceptor("")
		require.NoError(t, err)
		var wg sync.WaitGroup
		for s := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				i.BindLocalStream(&interceptor.StreamInfo{SSRC: uint32(s), ClockRate: 90000}, interceptor.RTPWriterFunc(nil))
			}()
		}
		require.NoError(t, i.Close())
		wg.Wait()
	}
}
