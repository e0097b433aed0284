package signalling

import (
	"encoding/json"
	"fmt"
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

func TestSendAsyncKeepsOrder(t *testing.T) {
	srv := newServer(t, testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	a := newClient(t, srv, Options{})
	b := newClient(t, srv, Options{})
	got := record[Direct](b)
	connect(t, a)
	connect(t, b)
	acks := make(chan error, 500)
	for i := 0; i < 500; i++ {
		require.NoError(t, a.SendAsync(b.PeerID(), i, func(err error) { acks <- err }))
	}
	for i := 0; i < 500; i++ {
		require.Equal(t, fmt.Sprint(i), string(got.next(t).Data))
		require.NoError(t, <-acks)
	}
	_, err := New(Options{APIKey: "pk_x"})
	require.NoError(t, err)
	var nc *NotConnectedError
	idle, _ := New(Options{APIKey: "pk_x"})
	require.ErrorAs(t, idle.SendAsync("x", 1, nil), &nc)
}
