package peer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCertificateRenewsBeforeItExpires: the shared certificate is kept
// while it has more than certRenewBefore left, and replaced after.
func TestCertificateRenewsBeforeItExpires(t *testing.T) {
	t.Parallel()
	var d dtlsCertificate
	now := time.Now()
	first, err := d.get(now)
	require.NoError(t, err)
	again, err := d.get(now.Add(time.Hour))
	require.NoError(t, err)
	assert.True(t, first.Equals(again), "kept")
	next, err := d.get(first.Expires().Add(-certRenewBefore / 2))
	require.NoError(t, err)
	assert.False(t, first.Equals(next), "renewed within certRenewBefore of its expiry")

	// One that expires within the hour is replaced at once.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tpl := x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	short, err := webrtc.NewCertificate(key, tpl)
	require.NoError(t, err)
	d = dtlsCertificate{cert: short}
	got, err := d.get(now)
	require.NoError(t, err)
	assert.False(t, short.Equals(got))
	assert.Greater(t, got.Expires().Sub(now), certRenewBefore)
}
