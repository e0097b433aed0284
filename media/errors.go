package media

import "errors"

// Errors the media helpers return; test with errors.Is.
var (
	// ErrEnded: the source was ended (End) or closed and takes no more input.
	ErrEnded = errors.New("media: source ended")
	// ErrClosed: the value was closed.
	ErrClosed = errors.New("media: closed")
	// ErrUnsupportedCodec: a track or file carries a codec this package
	// cannot handle.
	ErrUnsupportedCodec = errors.New("media: unsupported codec")
	// ErrBadFormat: an audio format with a non-positive rate or a channel
	// count outside 1..8.
	ErrBadFormat = errors.New("media: invalid audio format")
)
