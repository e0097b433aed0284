package testserver

// MatchChannel reports whether channel matches pattern, anchored at both
// ends: '*' matches any run without '/', "**" any run including '/', and
// "\*" and "\\" are a literal '*' and '\'. It runs in
// O(len(pattern)·len(channel)) time whatever the pattern, since patterns
// can come from JWT claims.
func MatchChannel(pattern, channel string) bool {
	toks := compileGlob(pattern)
	// cur[j]: the tokens so far match channel[:j].
	cur := make([]bool, len(channel)+1)
	next := make([]bool, len(channel)+1)
	cur[0] = true
	for _, tk := range toks {
		clear(next)
		switch tk.kind {
		case globLiteral:
			for j := 0; j < len(channel); j++ {
				next[j+1] = cur[j] && channel[j] == tk.b
			}
		case globStar, globDoubleStar:
			run := false // some k ≤ j with cur[k] and channel[k:j] allowed
			for j := 0; j <= len(channel); j++ {
				if cur[j] {
					run = true
				}
				next[j] = run
				if j < len(channel) && tk.kind == globStar && channel[j] == '/' {
					run = false
				}
			}
		}
		cur, next = next, cur
	}
	return cur[len(channel)]
}

type globKind uint8

const (
	globLiteral globKind = iota
	globStar
	globDoubleStar
)

type globToken struct {
	kind globKind
	b    byte
}

func compileGlob(p string) []globToken {
	toks := make([]globToken, 0, len(p))
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '*' && i+1 < len(p) && p[i+1] == '*':
			toks = append(toks, globToken{kind: globDoubleStar})
			i++
		case c == '*':
			toks = append(toks, globToken{kind: globStar})
		case c == '\\' && i+1 < len(p) && (p[i+1] == '*' || p[i+1] == '\\'):
			toks = append(toks, globToken{kind: globLiteral, b: p[i+1]})
			i++
		default:
			toks = append(toks, globToken{kind: globLiteral, b: c})
		}
	}
	return toks
}
