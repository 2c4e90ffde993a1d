package server

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// FuzzInvalidUTF8Field: the field finder never panics, and never blames a
// field of a message that decodes (protobuf-go refuses invalid UTF-8 in
// proto3 strings, so a decodable message has none).
func FuzzInvalidUTF8Field(f *testing.F) {
	endpoint := protowire.AppendTag(nil, 1, protowire.BytesType)
	endpoint = protowire.AppendString(endpoint, "GET")
	endpoint = protowire.AppendTag(endpoint, 2, protowire.BytesType)
	endpoint = protowire.AppendString(endpoint, "/crm/v3/\xffobjects")
	req := protowire.AppendTag(nil, 1, protowire.BytesType)
	req = protowire.AppendBytes(req, endpoint)
	req = protowire.AppendTag(req, 2, protowire.BytesType)
	req = protowire.AppendString(req, "oauth \xc3\x28")
	f.Add(req)
	valid, _ := proto.Marshal(&scopeguardv1.CheckScopesRequest{
		Endpoints: []*scopeguardv1.Endpoint{{Method: "GET", Path: "/crm/v3/objects/contacts"}}, GrantedScopes: []string{"oauth"},
	})
	f.Add(valid)
	explain, _ := proto.Marshal(&scopeguardv1.ExplainErrorRequest{Headers: map[string]string{"Retry-After": "10"}, Body: "{}"})
	f.Add(explain)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, msg := range []proto.Message{&scopeguardv1.CheckScopesRequest{}, &scopeguardv1.ExplainErrorRequest{}} {
			field, found := invalidUTF8Field(msg.ProtoReflect().Descriptor(), b, 0)
			if found && proto.Unmarshal(b, msg) == nil {
				t.Fatalf("%T decodes, yet %q is blamed for invalid UTF-8", msg, field)
			}
		}
	})
}
