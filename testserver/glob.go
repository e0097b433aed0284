package testserver

// MatchChannel reports whether channel matches pattern, anchored at both
// ends: '*' matches any run without '/', "**" any run including '/', and
// "\*" and "\\" are a literal '*' and '\'.
func MatchChannel(pattern, channel string) bool {
	return matchFrom(pattern, 0, channel, 0)
}

func matchFrom(p string, i int, s string, j int) bool {
	for i < len(p) {
		switch c := p[i]; {
		case c == '*':
			if i+1 < len(p) && p[i+1] == '*' {
				rest := i + 2
				for k := j; k <= len(s); k++ {
					if matchFrom(p, rest, s, k) {
						return true
					}
				}
				return false
			}
			for k := j; k <= len(s); k++ {
				if matchFrom(p, i+1, s, k) {
					return true
				}
				if k < len(s) && s[k] == '/' {
					return false
				}
			}
			return false
		case c == '\\' && i+1 < len(p) && (p[i+1] == '*' || p[i+1] == '\\'):
			if j >= len(s) || s[j] != p[i+1] {
				return false
			}
			i += 2
			j++
		default:
			if j >= len(s) || s[j] != c {
				return false
			}
			i++
			j++
		}
	}
	return j == len(s)
}
