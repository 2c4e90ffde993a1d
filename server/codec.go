package server

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// requestCodec is the server's protobuf codec: grpc-go's own, except that a
// request it cannot decode (a string field holding invalid UTF-8, or bytes
// that are not the message at all) reaches the interceptors instead of
// failing inside grpc-go, which answers such a request with an INTERNAL
// that no interceptor logs or counts. The codec leaves the message empty,
// notes why, and the rejectUndecodable interceptors answer INVALID_ARGUMENT
// with the field that broke, logged and counted like every other call.
type requestCodec struct {
	encoding.CodecV2
	log     *slog.Logger
	metrics *Metrics
	// undecodable holds, per message being decoded, why it could not be;
	// the interceptor takes each entry out as soon as the message reaches
	// it, which every decoded message does.
	undecodable sync.Map // proto.Message -> *badField
}

// badField is where, and why, a request could not be decoded.
type badField struct {
	field  string // BadRequest field path; "request" when no field is to blame
	reason string // "utf8" or "malformed"
}

func newRequestCodec(log *slog.Logger, metrics *Metrics) *requestCodec {
	return &requestCodec{CodecV2: encoding.GetCodecV2(protoenc.Name), log: log, metrics: metrics}
}

func (c *requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	msg, ok := v.(proto.Message)
	if err == nil || !ok {
		return err
	}
	proto.Reset(msg)
	bad := &badField{field: "request", reason: "malformed"}
	if field, found := invalidUTF8Field(msg.ProtoReflect().Descriptor(), data.Materialize(), 0); found {
		bad = &badField{field: field, reason: "utf8"}
	}
	c.undecodable.Store(msg, bad)
	return nil
}

// refusal is the answer to a request the codec could not decode; nil for
// every other request.
func (c *requestCodec) refusal(ctx context.Context, req any, method string) error {
	entry, _ := c.undecodable.LoadAndDelete(req)
	bad, ok := entry.(*badField)
	if !ok {
		return nil
	}
	c.metrics.undecodableRequests.WithLabelValues(method, bad.reason).Inc()
	c.log.WarnContext(ctx, "refused a request that does not decode",
		slog.String("request_id", requestIDFrom(ctx)), slog.String("method", method),
		slog.String("field", bad.field), slog.String("reason", bad.reason))
	description := "is not valid UTF-8"
	if bad.reason != "utf8" {
		description = "is not a valid protobuf encoding of the request message"
	}
	return statusError(ctx, codes.InvalidArgument, scopeguardv1.ErrorReason_INVALID_REQUEST,
		"invalid request: "+bad.field+" "+description,
		map[string]string{"violations": "1"},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
			Field: bad.field, Description: description, Reason: bad.reason,
		}}})
}

func (c *requestCodec) rejectUndecodableUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := c.refusal(ctx, req, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (c *requestCodec) rejectUndecodableStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &decodeCheckingStream{ServerStream: ss, codec: c, method: info.FullMethod})
}

type decodeCheckingStream struct {
	grpc.ServerStream
	codec  *requestCodec
	method string
}

func (s *decodeCheckingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.codec.refusal(s.Context(), m, s.method)
}

// maxFieldDepth bounds invalidUTF8Field's descent into nested messages.
const maxFieldDepth = 32

// invalidUTF8Field finds the first string field in b, the wire encoding of
// a message of type md, that holds invalid UTF-8, and returns its path
// ("granted_scopes[2]", "endpoints[0].path", "headers"). It reads b as far
// as it is well-formed.
func invalidUTF8Field(md protoreflect.MessageDescriptor, b []byte, depth int) (string, bool) {
	if depth > maxFieldDepth {
		return "", false
	}
	seen := map[protowire.Number]int{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return "", false
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		if fd == nil {
			continue
		}
		index := seen[num]
		seen[num]++
		name := string(fd.Name())
		if fd.IsList() {
			name += "[" + strconv.Itoa(index) + "]"
		}
		switch {
		case fd.Kind() == protoreflect.StringKind && !utf8.Valid(v):
			return name, true
		case fd.IsMap():
			if _, bad := invalidUTF8Field(fd.Message(), v, depth+1); bad {
				return name, true
			}
		case fd.Kind() == protoreflect.MessageKind:
			if inner, bad := invalidUTF8Field(fd.Message(), v, depth+1); bad {
				return name + "." + inner, true
			}
		}
	}
	return "", false
}
