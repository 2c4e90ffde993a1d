package tokens

import (
	"encoding/binary"
	"time"

	"github.com/eshopman/scopeguard/server/hubspot"
)

// Stored values are a compact binary form: a format byte, then each field in
// a fixed order as a varint or a length-prefixed string. A cache hit decodes
// one, so it is a few hundred nanoseconds rather than a JSON parse. Stores
// outside the process seal the bytes; nothing here is ever logged.
const (
	formatToken byte = 1
	formatInfo  byte = 2
)

type encoder struct{ b []byte }

func (e *encoder) int(v int64)  { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string) { e.int(int64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bool(v bool) {
	if v {
		e.int(1)
	} else {
		e.int(0)
	}
}

// time is Unix nanoseconds; the zero time is 0.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.int(0)
		return
	}
	e.int(t.UnixNano())
}

// strs keeps nil (-1) apart from empty: nil scopes mean unknown.
func (e *encoder) strs(ss []string) {
	if ss == nil {
		e.int(-1)
		return
	}
	e.int(int64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

// decoder reads fields from one string copy of the value, so decoded
// strings share it instead of each taking an allocation.
type decoder struct {
	s   string
	bad bool
}

func (d *decoder) int() int64 {
	var u uint64
	for shift, i := uint(0), 0; i < len(d.s) && i < binary.MaxVarintLen64; i, shift = i+1, shift+7 {
		c := d.s[i]
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			d.s = d.s[i+1:]
			return int64(u>>1) ^ -int64(u&1) // zigzag, as binary.AppendVarint writes
		}
	}
	d.bad = true
	return 0
}

func (d *decoder) str() string {
	n := d.int()
	if d.bad || n < 0 || n > int64(len(d.s)) {
		d.bad = true
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

func (d *decoder) bool() bool { return d.int() == 1 }

func (d *decoder) time() time.Time {
	if ns := d.int(); ns != 0 {
		return time.Unix(0, ns).UTC()
	}
	return time.Time{}
}

func (d *decoder) strs() []string {
	n := d.int()
	if n == -1 {
		return nil
	}
	if d.bad || n < 0 || n > int64(len(d.s)) { // each string takes a byte at least
		d.bad = true
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, d.str())
	}
	return out
}

// done reports whether every field decoded and nothing is left over.
func (d *decoder) done() bool { return !d.bad && len(d.s) == 0 }

func newDecoder(b []byte, format byte) decoder {
	if len(b) == 0 || b[0] != format {
		return decoder{bad: true}
	}
	return decoder{s: string(b[1:])}
}

func encodeToken(tok *Token) []byte {
	e := encoder{b: []byte{formatToken}}
	e.str(tok.AccessToken.Reveal())
	e.str(tok.RefreshToken.Reveal())
	e.time(tok.ExpiresAt)
	e.strs(tok.Scopes)
	e.int(tok.HubID)
	e.str(tok.TokenType)
	return e.b
}

func decodeToken(b []byte) (*Token, bool) {
	d := newDecoder(b, formatToken)
	tok := &Token{
		AccessToken:  hubspot.Secret(d.str()),
		RefreshToken: hubspot.Secret(d.str()),
		ExpiresAt:    d.time(),
		Scopes:       d.strs(),
		HubID:        d.int(),
		TokenType:    d.str(),
	}
	if !d.done() || tok.AccessToken == "" {
		return nil, false
	}
	return tok, true
}

// encodeInfo stores an introspection answer with the time it stops being
// served (the store's own expiry is a bound; each replica's clock decides).
func encodeInfo(info *hubspot.TokenInfo, keepUntil time.Time) []byte {
	e := encoder{b: []byte{formatInfo}}
	e.time(keepUntil)
	e.bool(info.Active)
	e.str(string(info.InactiveReason))
	e.int(int64(info.Credential))
	e.str(info.TokenUse)
	e.int(info.HubID)
	e.int(info.AppID)
	e.int(info.UserID)
	e.str(info.User)
	e.str(info.HubDomain)
	e.str(info.ClientID)
	e.strs(info.Scopes)
	e.time(info.ExpiresAt)
	e.bool(info.PrivateDistribution)
	return e.b
}

func decodeInfo(b []byte) (*hubspot.TokenInfo, time.Time, bool) {
	d := newDecoder(b, formatInfo)
	keepUntil := d.time()
	info := &hubspot.TokenInfo{
		Active:              d.bool(),
		InactiveReason:      hubspot.InactiveReason(d.str()),
		Credential:          hubspot.CredentialKind(d.int()),
		TokenUse:            d.str(),
		HubID:               d.int(),
		AppID:               d.int(),
		UserID:              d.int(),
		User:                d.str(),
		HubDomain:           d.str(),
		ClientID:            d.str(),
		Scopes:              d.strs(),
		ExpiresAt:           d.time(),
		PrivateDistribution: d.bool(),
	}
	if !d.done() {
		return nil, time.Time{}, false
	}
	return info, keepUntil, true
}
