package protocol

import (
	"encoding/json"
	"regexp"
)

// ICEServer is one STUN/TURN server taken from welcome metadata.
type ICEServer struct {
	URLs       []string
	Username   string
	Credential string
}

// String never shows the credential.
func (s ICEServer) String() string {
	return "ICEServer{URLs: " + jsonString(s.URLs) + ", credential: ***}"
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Limits applied by ExtractICEServers, as in the JS SDK.
const (
	MaxICEServers        = 16
	MaxICEURLLength      = 512
	MaxICEUsernameLength = 1024
	MaxICECredentialLen  = 1024
)

var iceSchemeRE = regexp.MustCompile(`(?i)^(stuns?|turns?):`)

// ExtractICEServers reads metadata.iceServers with the JS SDK's fail-closed
// rules: at most 16 entries, each an object whose urls is a STUN/TURN URL or
// a non-empty array of them (1-512 chars each); a string username or
// credential may hold at most 1024 chars, non-string ones are ignored. Any
// violation discards the whole list and ok is false.
func ExtractICEServers(metadata json.RawMessage) (servers []ICEServer, ok bool) {
	meta, isObj := DecodeObject(metadata)
	if !isObj {
		return nil, false
	}
	raw, present := meta["iceServers"]
	if !present || firstByte(raw) != '[' {
		return nil, false
	}
	var entries []json.RawMessage
	if json.Unmarshal(raw, &entries) != nil || len(entries) > MaxICEServers {
		return nil, false
	}
	out := make([]ICEServer, 0, len(entries))
	for _, e := range entries {
		o, isObj := DecodeObject(e)
		if !isObj {
			return nil, false
		}
		urls, valid := iceURLs(o["urls"])
		if !valid {
			return nil, false
		}
		s := ICEServer{URLs: urls}
		if u, isStr := o.String("username"); isStr {
			if UTF16Len(u) > MaxICEUsernameLength {
				return nil, false
			}
			s.Username = u
		}
		if c, isStr := o.String("credential"); isStr {
			if UTF16Len(c) > MaxICECredentialLen {
				return nil, false
			}
			s.Credential = c
		}
		out = append(out, s)
	}
	return out, true
}

func iceURLs(raw json.RawMessage) ([]string, bool) {
	switch firstByte(raw) {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil || !allowedICEURL(s) {
			return nil, false
		}
		return []string{s}, true
	case '[':
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
			return nil, false
		}
		urls := make([]string, 0, len(list))
		for _, item := range list {
			var s string
			if firstByte(item) != '"' || json.Unmarshal(item, &s) != nil || !allowedICEURL(s) {
				return nil, false
			}
			urls = append(urls, s)
		}
		return urls, true
	}
	return nil, false
}

func allowedICEURL(u string) bool {
	n := UTF16Len(u)
	return n > 0 && n <= MaxICEURLLength && iceSchemeRE.MatchString(u)
}
