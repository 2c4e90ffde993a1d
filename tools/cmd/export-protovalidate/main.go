// Command export-protovalidate prints buf/validate/validate.proto from the
// descriptor compiled into protovalidate's Go module.
//
// The buf registry cannot be reached from our machines, so `buf dep update`
// cannot fetch protovalidate's proto module. The Go module
// buf.build/gen/go/bufbuild/protovalidate (pinned in tools/go.mod) carries the
// same file as a descriptor; printing it gives the source buf needs, at the
// exact version the server's protovalidate library enforces.
//
// Usage (from the repository root): make protovalidate-proto
package main

import (
	"fmt"
	"os"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"github.com/jhump/protoreflect/v2/protoprint"
)

func main() {
	printer := protoprint.Printer{}
	source, err := printer.PrintProtoToString(validate.File_buf_validate_validate_proto)
	if err != nil {
		fmt.Fprintln(os.Stderr, "export-protovalidate:", err)
		os.Exit(1)
	}
	fmt.Print(source)
}
