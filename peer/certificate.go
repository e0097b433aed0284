package peer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// certRenewBefore: the shared certificate is replaced for new connections
// when it has less than this left (pion's last a month, as a browser's;
// pion refuses to build a connection on an expired one).
const certRenewBefore = 24 * time.Hour

// dtlsCertificate is the DTLS certificate a MeteredPeer's connections
// share, where Options.Configuration names none. pion makes one per
// connection otherwise: an ECDSA key and a signed certificate, three
// quarters of the CPU of making a connection (about 0.15 ms of 0.2). A
// browser keeps one per connection; sharing one tells the peers of a
// channel nothing the channel has not told them (the same peer id).
type dtlsCertificate struct {
	mu   sync.Mutex
	cert *webrtc.Certificate
}

// get returns the certificate, making a new one when there is none or it
// expires within certRenewBefore of now.
func (d *dtlsCertificate) get(now time.Time) (webrtc.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cert == nil || d.cert.Expires().Sub(now) < certRenewBefore {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return webrtc.Certificate{}, err
		}
		if d.cert, err = webrtc.GenerateCertificate(key); err != nil {
			return webrtc.Certificate{}, err
		}
	}
	return *d.cert, nil
}
