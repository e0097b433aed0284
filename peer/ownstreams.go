package peer

import "github.com/pion/interceptor"

// ownStreamsFactory builds a connection's interceptors from inner and keeps
// them off "remote" streams that carry an SSRC the connection sends. The
// only such stream is the reader rtxfeedback.go opens on an RTX SSRC of
// ours, for its RTCP: bound as a remote stream, pion's report interceptor
// would send receiver reports about it, and its statistics would count it,
// where a browser sends and counts nothing.
type ownStreamsFactory struct {
	inner *interceptor.Registry
	m     *meters
}

func (f ownStreamsFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	chain, err := f.inner.Build(id)
	if err != nil {
		return nil, err
	}
	f.m.mu.Lock()
	e := f.m.estimators[id] // made by the chain just built
	f.m.mu.Unlock()
	return &ownStreams{Interceptor: chain, e: e}, nil
}

// ownStreams is a connection's interceptor chain, minus its own streams'
// remote bindings.
type ownStreams struct {
	interceptor.Interceptor
	e *estimator
}

// BindRemoteStream binds a remote stream, unless the SSRC is ours.
func (o *ownStreams) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if o.e != nil && o.e.sends(info.SSRC) {
		return r
	}
	return o.Interceptor.BindRemoteStream(info, r)
}

// UnbindRemoteStream unbinds a remote stream, unless the SSRC is ours.
func (o *ownStreams) UnbindRemoteStream(info *interceptor.StreamInfo) {
	if o.e != nil && o.e.sends(info.SSRC) {
		return
	}
	o.Interceptor.UnbindRemoteStream(info)
}
