package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestHeardPrefix(t *testing.T) {
	t.Parallel()
	reply := []Spoken{
		{Text: "The train leaves at nine.", Audio: 1500 * time.Millisecond},
		{Text: " It takes two hours and ten minutes to reach the coast.", Audio: 3 * time.Second},
	}
	for _, c := range []struct {
		heard time.Duration
		want  string
	}{
		{0, ""},
		{700 * time.Millisecond, "The train"},
		{1500 * time.Millisecond, "The train leaves at nine."},
		{1500*time.Millisecond + 1200*time.Millisecond, "The train leaves at nine. It takes two hours"},
		{10 * time.Second, "The train leaves at nine. It takes two hours and ten minutes to reach the coast."},
	} {
		assert.Equal(t, c.want, HeardPrefix(reply, c.heard), "heard %v", c.heard)
	}
}
