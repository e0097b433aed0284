package bridge

import "errors"

// The errors a constructor or a session can meet.
var (
	// ErrNoAuth: an endpoint was made with no way to authenticate
	// clients and without Anonymous.
	ErrNoAuth = errors.New("bridge: no authentication configured")
	// ErrClosed: the endpoint is closed.
	ErrClosed = errors.New("bridge: closed")
)
