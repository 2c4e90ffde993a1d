package server

import (
	"strings"
	"testing"

	validatepb "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// TestCheckScopesFastPathRules pins the rules checkScopesValid mirrors. If
// it fails, the proto's rules for CheckScopesRequest or Endpoint changed:
// change checkScopesValid (and its fuzz target) to match, then this list.
func TestCheckScopesFastPathRules(t *testing.T) {
	t.Parallel()
	mirrored := map[protoreflect.FullName]string{
		"scopeguard.v1.CheckScopesRequest":                `oneof: {fields: ["granted_scopes", "access_token"]}`,
		"scopeguard.v1.CheckScopesRequest.endpoints":      `repeated: {min_items: 1, max_items: 1000}`,
		"scopeguard.v1.CheckScopesRequest.granted_scopes": `repeated: {max_items: 1000}`,
		"scopeguard.v1.CheckScopesRequest.access_token":   `string: {max_bytes: 4096}`,
		"scopeguard.v1.CheckScopesRequest.app_type":       `enum: {defined_only: true}`,
		"scopeguard.v1.CheckScopesRequest.app":            `string: {max_len: 128}`,
		"scopeguard.v1.CheckScopesRequest.view":           `enum: {defined_only: true}`,
		"scopeguard.v1.Endpoint.method":                   `string: {pattern: "^(?i:GET|POST|PUT|PATCH|DELETE|HEAD)$"}`,
		"scopeguard.v1.Endpoint.path":                     `string: {min_len: 1, max_bytes: 4096}`,
	}
	declared := map[protoreflect.FullName]proto.Message{}
	for _, md := range []protoreflect.MessageDescriptor{
		(&scopeguardv1.CheckScopesRequest{}).ProtoReflect().Descriptor(),
		(&scopeguardv1.Endpoint{}).ProtoReflect().Descriptor(),
	} {
		if rules, _ := proto.GetExtension(md.Options(), validatepb.E_Message).(*validatepb.MessageRules); rules != nil {
			declared[md.FullName()] = rules
		}
		for i := range md.Fields().Len() {
			fd := md.Fields().Get(i)
			if rules, _ := proto.GetExtension(fd.Options(), validatepb.E_Field).(*validatepb.FieldRules); rules != nil {
				declared[fd.FullName()] = rules
			}
		}
	}
	for name, rules := range declared {
		text, ok := mirrored[name]
		if !ok {
			t.Errorf("%s declares rules checkScopesValid does not mirror: %v", name, rules)
			continue
		}
		want := rules.ProtoReflect().New().Interface()
		if err := prototext.Unmarshal([]byte(text), want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !proto.Equal(want, rules) {
			t.Errorf("%s declares %v; checkScopesValid mirrors %s", name, rules, text)
		}
	}
	for name := range mirrored {
		if declared[name] == nil {
			t.Errorf("checkScopesValid mirrors rules of %s, which declares none", name)
		}
	}
}

// checkScopesCase is the shape of a CheckScopesRequest the fast-path tests
// build: n copies of one endpoint, scopes copies of one scope.
type checkScopesCase struct {
	method, path string
	endpoints    int
	scope        string
	scopes       int
	token        string
	appType      int32
	view         int32
	app          string
}

func (c checkScopesCase) request() *scopeguardv1.CheckScopesRequest {
	req := &scopeguardv1.CheckScopesRequest{
		AccessToken: c.token,
		AppType:     scopeguardv1.AppType(c.appType),
		View:        scopeguardv1.DecisionView(c.view),
		App:         c.app,
	}
	ep := &scopeguardv1.Endpoint{Method: c.method, Path: c.path}
	for range c.endpoints {
		req.Endpoints = append(req.Endpoints, ep)
	}
	for range c.scopes {
		req.GrantedScopes = append(req.GrantedScopes, c.scope)
	}
	return req
}

// assertFastPathAgrees fails when checkScopesValid vouches for a request
// protovalidate refuses, or refuses one protovalidate accepts for any
// reason but a method name outside ASCII.
func assertFastPathAgrees(t *testing.T, v protovalidate.Validator, c checkScopesCase) {
	t.Helper()
	req := c.request()
	fast := checkScopesValid(req)
	err := v.Validate(req)
	switch {
	case fast && err != nil:
		t.Errorf("fast path vouches for %+v, protovalidate refuses it: %v", c, err)
	case !fast && err == nil && isASCII(c.method):
		t.Errorf("fast path refuses %+v, which protovalidate accepts", c)
	}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestCheckScopesFastPathAgreesWithProtovalidate(t *testing.T) {
	t.Parallel()
	v, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	ok := checkScopesCase{method: "GET", path: "/crm/v3/objects/contacts", endpoints: 2, scope: "oauth", scopes: 1}
	with := func(change func(*checkScopesCase)) checkScopesCase {
		c := ok
		change(&c)
		return c
	}
	cases := []checkScopesCase{
		ok,
		with(func(c *checkScopesCase) { c.method = "patch" }),
		with(func(c *checkScopesCase) { c.method = "Delete" }),
		with(func(c *checkScopesCase) { c.method = "HEAD" }),
		with(func(c *checkScopesCase) { c.method = "GETS" }),
		with(func(c *checkScopesCase) { c.method = "GE" }),
		with(func(c *checkScopesCase) { c.method = "" }),
		with(func(c *checkScopesCase) { c.method = "POST\n" }),
		with(func(c *checkScopesCase) { c.method = "PO\u017fT" }), // ſ folds to s: protovalidate accepts, the fast path defers
		with(func(c *checkScopesCase) { c.path = "" }),
		with(func(c *checkScopesCase) { c.path = "/" + strings.Repeat("a", 4095) }),
		with(func(c *checkScopesCase) { c.path = "/" + strings.Repeat("a", 4096) }),
		with(func(c *checkScopesCase) { c.endpoints = 0 }),
		with(func(c *checkScopesCase) { c.endpoints = 1000 }),
		with(func(c *checkScopesCase) { c.endpoints = 1001 }),
		with(func(c *checkScopesCase) { c.scopes = 0 }),
		with(func(c *checkScopesCase) { c.scopes = 1000 }),
		with(func(c *checkScopesCase) { c.scopes = 1001 }),
		with(func(c *checkScopesCase) { c.scopes, c.token = 0, "pat-na1-x" }),
		with(func(c *checkScopesCase) { c.token = "pat-na1-x" }),
		with(func(c *checkScopesCase) { c.scopes, c.token = 0, strings.Repeat("t", 4096) }),
		with(func(c *checkScopesCase) { c.scopes, c.token = 0, strings.Repeat("t", 4097) }),
		with(func(c *checkScopesCase) { c.appType = 3 }),
		with(func(c *checkScopesCase) { c.appType = 4 }),
		with(func(c *checkScopesCase) { c.appType = -1 }),
		with(func(c *checkScopesCase) { c.view = 2 }),
		with(func(c *checkScopesCase) { c.view = 3 }),
		with(func(c *checkScopesCase) { c.app = strings.Repeat("a", 128) }),
		with(func(c *checkScopesCase) { c.app = strings.Repeat("a", 129) }),
		with(func(c *checkScopesCase) { c.app = strings.Repeat("é", 128) }), // 256 bytes, 128 characters
		with(func(c *checkScopesCase) { c.app = strings.Repeat("é", 129) }),
	}
	for _, c := range cases {
		assertFastPathAgrees(t, v, c)
	}
}

// FuzzCheckScopesFastPath looks for a request the fast path vouches for
// and protovalidate refuses (or one it refuses needlessly).
func FuzzCheckScopesFastPath(f *testing.F) {
	v, err := protovalidate.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("GET", "/crm/v3/objects/contacts", uint16(1), "oauth", uint16(1), "", int32(0), int32(1), "shop")
	f.Add("post", "/", uint16(1000), "", uint16(0), "pat-na1-x", int32(2), int32(2), "")
	f.Add("PO\u017fT", "/x", uint16(1001), "a b", uint16(1001), "t", int32(4), int32(3), "éé")
	f.Fuzz(func(t *testing.T, method, path string, endpoints uint16, scope string, scopes uint16, token string, appType, view int32, app string) {
		assertFastPathAgrees(t, v, checkScopesCase{
			method: method, path: path, endpoints: int(endpoints % 1100), scope: scope, scopes: int(scopes % 1100),
			token: token, appType: appType, view: view, app: app,
		})
	})
}
