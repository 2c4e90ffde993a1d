package server

import (
	"unicode/utf8"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// validate enforces the protovalidate rules written in the proto on a
// request. CheckScopes, called before every HubSpot call, goes through a
// hand-written check of the same rules first; protovalidate runs only when
// that check cannot vouch for the request, so it stays the one judge of
// what is refused and the one author of every rejection's details.
func validate(v protovalidate.Validator, req any) error {
	if check, ok := req.(*scopeguardv1.CheckScopesRequest); ok && checkScopesValid(check) {
		return nil
	}
	if msg, ok := req.(proto.Message); ok {
		return v.Validate(msg)
	}
	return nil
}

// checkScopesValid reports whether req keeps every rule the proto declares
// for CheckScopesRequest and its endpoints. It may say false for a request
// protovalidate accepts (it knows method names in ASCII only, while the
// method pattern folds Unicode case), never true for one protovalidate
// refuses: TestCheckScopesFastPathRules pins the rules it mirrors, and
// FuzzCheckScopesFastPath checks it against protovalidate.
func checkScopesValid(req *scopeguardv1.CheckScopesRequest) bool {
	endpoints := req.GetEndpoints()
	if len(endpoints) < 1 || len(endpoints) > 1000 {
		return false
	}
	for _, ep := range endpoints {
		if path := ep.GetPath(); path == "" || len(path) > 4096 || !knownMethod(ep.GetMethod()) {
			return false
		}
	}
	scopes, token := req.GetGrantedScopes(), req.GetAccessToken()
	if len(scopes) > 1000 || len(token) > 4096 || (len(scopes) > 0 && token != "") {
		return false
	}
	if _, ok := scopeguardv1.AppType_name[int32(req.GetAppType())]; !ok {
		return false
	}
	if _, ok := scopeguardv1.DecisionView_name[int32(req.GetView())]; !ok {
		return false
	}
	app := req.GetApp()
	return len(app) <= 128 || utf8.RuneCountInString(app) <= 128
}

// knownMethod matches Endpoint.method's pattern,
// ^(?i:GET|POST|PUT|PATCH|DELETE|HEAD)$, for ASCII input.
func knownMethod(method string) bool {
	if len(method) < 3 || len(method) > 6 {
		return false
	}
	var upper [6]byte
	for i := range len(method) {
		c := method[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		upper[i] = c
	}
	switch string(upper[:len(method)]) {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD":
		return true
	}
	return false
}
