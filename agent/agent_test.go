package agent

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/metered-ca/realtime-go/media"
)

// The agent's voice goes out through a media.AudioSource.
var _ Output = (*media.AudioSource)(nil)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
