package signalling

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/testserver"
)

func TestPubSubDirectPresence(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	a := newClient(t, srv, Options{})
	b := newClient(t, srv, Options{})
	aPres, bPres := record[Presence](a), record[Presence](b)
	bMsg, aDir := record[Message](b), record[Direct](a)
	connect(t, a)
	connect(t, b)
	ctx := ctx5(t)
	require.NoError(t, a.Subscribe(ctx, "room"))
	snap := aPres.next(t)
	assert.Equal(t, "room", snap.Channel)
	assert.Empty(t, snap.Joined)
	assert.Empty(t, snap.Left)
	require.NoError(t, b.Subscribe(ctx, "room"))
	bSnap := bPres.next(t)
	require.Len(t, bSnap.Joined, 1)
	assert.Equal(t, a.PeerID(), bSnap.Joined[0].PeerID)
	join := aPres.next(t)
	require.Len(t, join.Joined, 1)
	assert.Equal(t, b.PeerID(), join.Joined[0].PeerID)

	require.NoError(t, a.Publish(ctx, "room", map[string]any{"hello": "world"}))
	m := bMsg.next(t)
	assert.Equal(t, "room", m.Channel)
	assert.Equal(t, a.PeerID(), m.From)
	assert.JSONEq(t, `{"hello":"world"}`, string(m.Data))

	require.NoError(t, b.Send(ctx, a.PeerID(), json.RawMessage(`[1,2,3]`)))
	d := aDir.next(t)
	assert.Equal(t, b.PeerID(), d.From)
	assert.Equal(t, `[1,2,3]`, string(d.Data))

	require.NoError(t, b.Close())
	left := aPres.next(t)
	require.Len(t, left.Left, 1)
	assert.Equal(t, b.PeerID(), left.Left[0].PeerID)
}
