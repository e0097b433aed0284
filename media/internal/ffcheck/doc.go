// Package ffcheck fails the build, with a message that says what to do,
// when the FFmpeg found by pkg-config is not the series the build was made
// for. It depends on nothing but FFmpeg's headers, so its message appears
// even when go-astiav itself does not compile against that FFmpeg.
package ffcheck
