//go:build !ffmpeg7

package docsnippets

// buildTags are the tags the snippets are built with: this test's own.
const buildTags = ""
