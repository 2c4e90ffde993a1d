package tokens

import (
	"encoding/json"
	"time"

	"github.com/eshopman/scopeguard/server/hubspot"
)

// storedToken is a Token as stored: plain strings, since hubspot.Secret
// redacts itself in every encoding. Stores outside the process seal it.
type storedToken struct {
	AccessToken  string   `json:"a"`
	RefreshToken string   `json:"r"`
	ExpiresAt    int64    `json:"e"` // Unix nanoseconds
	Scopes       []string `json:"s,omitempty"`
	HubID        int64    `json:"h,omitempty"`
	TokenType    string   `json:"t,omitempty"`
}

func encodeToken(tok *Token) []byte {
	b, _ := json.Marshal(storedToken{
		AccessToken: tok.AccessToken.Reveal(), RefreshToken: tok.RefreshToken.Reveal(),
		ExpiresAt: tok.ExpiresAt.UnixNano(), Scopes: tok.Scopes, HubID: tok.HubID, TokenType: tok.TokenType,
	}) // a struct of strings and numbers always marshals
	return b
}

func decodeToken(b []byte) (*Token, bool) {
	var st storedToken
	if json.Unmarshal(b, &st) != nil || st.AccessToken == "" {
		return nil, false
	}
	return &Token{
		AccessToken: hubspot.Secret(st.AccessToken), RefreshToken: hubspot.Secret(st.RefreshToken),
		ExpiresAt: time.Unix(0, st.ExpiresAt).UTC(), Scopes: st.Scopes, HubID: st.HubID, TokenType: st.TokenType,
	}, true
}

// storedInfo is an introspection answer as stored, with the time it stops
// being served (the store's own expiry is a bound, not the rule: replicas'
// clocks decide).
type storedInfo struct {
	Info      *hubspot.TokenInfo `json:"i"`
	KeepUntil int64              `json:"k"` // Unix nanoseconds
}

func encodeInfo(info *hubspot.TokenInfo, keepUntil time.Time) []byte {
	b, _ := json.Marshal(storedInfo{Info: info, KeepUntil: keepUntil.UnixNano()}) // TokenInfo holds no secret and always marshals
	return b
}

func decodeInfo(b []byte) (*hubspot.TokenInfo, time.Time, bool) {
	var si storedInfo
	if json.Unmarshal(b, &si) != nil || si.Info == nil {
		return nil, time.Time{}, false
	}
	return si.Info, time.Unix(0, si.KeepUntil), true
}
