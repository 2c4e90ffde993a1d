// Command export-proto prints the source of a .proto file from the descriptor
// compiled into a pinned Go module, for buf to build against.
//
// The buf registry cannot be reached from our machines, so `buf dep update`
// cannot fetch the proto modules we depend on. Their generated Go modules
// (pinned in tools/go.mod) carry the same files as descriptors; printing one
// gives the source buf needs, at the exact version the Go libraries use:
//
//   - buf/validate/validate.proto from buf.build/gen/go/bufbuild/protovalidate
//     (the rules the server's protovalidate interceptor enforces);
//   - google/rpc/error_details.proto from
//     google.golang.org/genproto/googleapis/rpc/errdetails (ErrorInfo,
//     BadRequest, RetryInfo, ... that the server attaches to its errors)
//     and google/rpc/status.proto from .../rpc/status (the google.rpc.Status
//     that carries them in the grpc-status-details-bin trailer), needed by
//     the generated clients to decode error details;
//   - google/api/annotations.proto and google/api/http.proto from
//     google.golang.org/genproto/googleapis/api/annotations (the
//     google.api.http options that map each RPC to its REST route).
//
// Usage (from tools/): go run ./cmd/export-proto FILE, where FILE is one of
// the paths above. `make third-party-protos` writes them all into third_party/.
package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"github.com/jhump/protoreflect/v2/protoprint"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// exportable are the files this command can print, by proto path.
var exportable = map[string]protoreflect.FileDescriptor{
	"buf/validate/validate.proto":    validate.File_buf_validate_validate_proto,
	"google/rpc/error_details.proto": errdetails.File_google_rpc_error_details_proto,
	"google/rpc/status.proto":        status.File_google_rpc_status_proto,
	"google/api/annotations.proto":   annotations.File_google_api_annotations_proto,
	"google/api/http.proto":          annotations.File_google_api_http_proto,
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "export-proto:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: export-proto FILE (one of %s)", names())
	}
	file, ok := exportable[args[0]]
	if !ok {
		return fmt.Errorf("cannot export %q: not one of %s", args[0], names())
	}
	printer := protoprint.Printer{}
	source, err := printer.PrintProtoToString(file)
	if err != nil {
		return fmt.Errorf("print %s: %w", args[0], err)
	}
	_, err = io.WriteString(stdout, source)
	return err
}

// names lists the exportable paths, sorted, for messages.
func names() string {
	return strings.Join(slices.Sorted(maps.Keys(exportable)), ", ")
}
