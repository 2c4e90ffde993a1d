package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server"
	"github.com/eshopman/scopeguard/server/catalog"
)

// exitNotAllowed is check's answer when an endpoint is not allowed, and
// plan's when an endpoint could not be planned.
const exitNotAllowed = 1

// offline is the service without a network: the embedded catalog only.
// The subcommands call its handlers directly, after the same request
// validation the server's interceptor applies.
type offline struct {
	svc       *server.Service
	validator protovalidate.Validator
}

func newOffline() (*offline, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, fmt.Errorf("embedded catalog: %w", err)
	}
	validator, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	svc := server.NewService(server.Deps{
		Catalog: cat,
		Metrics: server.NewMetrics(),
		Log:     slog.New(slog.DiscardHandler),
	})
	return &offline{svc: svc, validator: validator}, nil
}

// validate applies the proto's rules; the error lists each violation.
func (o *offline) validate(req proto.Message) error {
	err := o.validator.Validate(req)
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	var lines []string
	for _, v := range verr.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		if field == "" {
			field = "request"
		}
		lines = append(lines, field+": "+v.Proto.GetMessage())
	}
	return errors.New("invalid request: " + strings.Join(lines, "; "))
}

// answer is what every offline subcommand does once it has a request:
// validate it, run it through the service's handler, and print the answer
// as JSON or for people. It returns the response with exitOK, or the exit
// code and error of the step that failed.
func answer[Req, Resp proto.Message](ctx context.Context, w io.Writer, asJSON bool, req Req,
	handler func(*server.Service, context.Context, Req) (Resp, error), human func(io.Writer, Resp) error,
) (Resp, int, error) {
	var none Resp
	o, err := newOffline()
	if err != nil {
		return none, exitError, err
	}
	if err := o.validate(req); err != nil {
		return none, exitUsage, err
	}
	resp, err := handler(o.svc, ctx, req)
	if err != nil {
		return none, exitUsage, statusMessage(err)
	}
	if asJSON {
		err = printJSON(w, resp)
	} else {
		err = human(w, resp)
	}
	if err != nil {
		return none, exitError, err
	}
	return resp, exitOK, nil
}

// commonFlags are the flags every offline subcommand shares.
type commonFlags struct {
	json    bool
	appType string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.json, "json", false, "print the exact response as JSON (the grpcurl/protojson form)")
	fs.StringVar(&c.appType, "app-type", "public", `credential kind: "public" (OAuth), "private" (private app, static token, service key) or "developer" (developer API key)`)
}

// viewFlag is the --view flag of check and plan.
type viewFlag struct{ name string }

func (v *viewFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&v.name, "view", "full", `how much of each decision to show: "full" (operation, explanation, notices) or "basic" (verdict and missing scopes: the hot-path answer)`)
}

func (v *viewFlag) view() (scopeguardv1.DecisionView, error) {
	switch strings.ToLower(v.name) {
	case "full", "":
		return scopeguardv1.DecisionView_DECISION_VIEW_FULL, nil
	case "basic":
		return scopeguardv1.DecisionView_DECISION_VIEW_BASIC, nil
	}
	return 0, fmt.Errorf(`--view %q: want "full" or "basic"`, v.name)
}

func (c *commonFlags) app() (scopeguardv1.AppType, error) {
	switch strings.ToLower(c.appType) {
	case "public", "oauth", "":
		return scopeguardv1.AppType_APP_TYPE_PUBLIC, nil
	case "private":
		return scopeguardv1.AppType_APP_TYPE_PRIVATE, nil
	case "developer":
		return scopeguardv1.AppType_APP_TYPE_DEVELOPER, nil
	}
	return 0, fmt.Errorf(`--app-type %q: want "public", "private" or "developer"`, c.appType)
}

// printJSON writes a response as protojson, indented, with a newline.
func printJSON(w io.Writer, m proto.Message) error {
	out, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(out))
	return err
}

// parseEndpoints parses the command line of a subcommand that takes
// METHOD PATH pairs: the flags, wherever they stand, the pairs, and the app
// type.
func (c *commonFlags) parseEndpoints(fs *flag.FlagSet, args []string) ([]*scopeguardv1.Endpoint, scopeguardv1.AppType, error) {
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, 0, err
	}
	endpoints, err := endpointArgs(positional)
	if err != nil {
		return nil, 0, err
	}
	app, err := c.app()
	return endpoints, app, err
}

// endpointArgs reads METHOD PATH pairs.
func endpointArgs(args []string) ([]*scopeguardv1.Endpoint, error) {
	if len(args) == 0 || len(args)%2 != 0 {
		return nil, errors.New("want one or more METHOD PATH pairs, e.g. GET /crm/v3/objects/contacts")
	}
	var eps []*scopeguardv1.Endpoint
	for i := 0; i < len(args); i += 2 {
		eps = append(eps, &scopeguardv1.Endpoint{Method: args[i], Path: args[i+1]})
	}
	return eps, nil
}

// endpointList is a repeatable flag of "METHOD PATH" values.
type endpointList []*scopeguardv1.Endpoint

func (l *endpointList) String() string { return "" }

func (l *endpointList) Set(v string) error {
	method, path, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return fmt.Errorf("%q: want \"METHOD PATH\"", v)
	}
	*l = append(*l, &scopeguardv1.Endpoint{Method: method, Path: strings.TrimSpace(path)})
	return nil
}

// parseInterspersed parses flags wherever they stand among the positional
// arguments (Go's flag package stops at the first positional one) and
// returns the positional arguments in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	return positional, nil
}

// statusMessage is a handler's error as a person reads it: the status
// message, which names the field and the problem.
func statusMessage(err error) error {
	return errors.New(status.Convert(err).Message())
}

// check runs CheckScopes offline.
func check(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("scopeguard check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scopeguard check [flags] METHOD PATH [METHOD PATH...]")
		fmt.Fprintln(stderr, "Checks granted scopes against HubSpot endpoints, offline; exits 1 when any endpoint is not allowed.")
		fs.PrintDefaults()
	}
	var common commonFlags
	common.register(fs)
	var views viewFlag
	views.register(fs)
	var scopes string
	fs.StringVar(&scopes, "scopes", "", "granted scopes, separated by commas or spaces (as HubSpot's scope parameter writes them)")
	endpoints, app, err := common.parseEndpoints(fs, args)
	if err != nil {
		return usageError(err)
	}
	view, err := views.view()
	if err != nil {
		return exitUsage, err
	}
	req := &scopeguardv1.CheckScopesRequest{Endpoints: endpoints, AppType: app, View: view}
	if scopes != "" {
		req.GrantedScopes = []string{scopes}
	}
	resp, code, err := answer(ctx, stdout, common.json, req, (*server.Service).CheckScopes,
		func(w io.Writer, resp *scopeguardv1.CheckScopesResponse) error { return printCheck(w, endpoints, resp) })
	if code != exitOK || err != nil {
		return code, err
	}
	if !resp.GetAllowed() {
		return exitNotAllowed, nil
	}
	return exitOK, nil
}

// printCheck writes a CheckScopes answer for people; endpoints are the
// request's (the basic view does not echo them).
func printCheck(w io.Writer, endpoints []*scopeguardv1.Endpoint, resp *scopeguardv1.CheckScopesResponse) error {
	for i, d := range resp.GetDecisions() {
		printDecision(w, endpoints[i], d)
	}
	if unknown := resp.GetUnknownScopes(); len(unknown) > 0 {
		fmt.Fprintf(w, "unknown scope names (typos?): %s\n", strings.Join(unknown, ", "))
	}
	if resp.GetAllowed() {
		_, err := fmt.Fprintln(w, "allowed: yes")
		return err
	}
	line := "allowed: no"
	if missing := resp.GetMissingScopes(); len(missing) > 0 {
		line += "; add: " + strings.Join(missing, " ")
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// printDecision writes the decision for endpoint ep, for people: verdict,
// endpoint, explanation and notices, or in the basic view (no
// explanation) the satisfying or missing scopes.
func printDecision(w io.Writer, ep *scopeguardv1.Endpoint, d *scopeguardv1.EndpointDecision) {
	verdict := strings.TrimPrefix(d.GetVerdict().String(), "VERDICT_")
	fmt.Fprintf(w, "%-20s %s %s\n", verdict, strings.ToUpper(ep.GetMethod()), ep.GetPath())
	switch {
	case d.GetExplanation() != "":
		fmt.Fprintf(w, "  %s\n", d.GetExplanation())
	case d.GetSatisfiedBy() != nil:
		fmt.Fprintf(w, "  allowed by %s\n", strings.Join(d.GetSatisfiedBy().GetScopes(), " + "))
	case len(d.GetMissingScopes()) > 0:
		fmt.Fprintf(w, "  missing %s\n", strings.Join(d.GetMissingScopes(), " + "))
	}
	for _, s := range d.GetSuggestions()[min(1, len(d.GetSuggestions())):] {
		fmt.Fprintf(w, "  also close: %s\n", s)
	}
	for _, n := range d.GetNotices() {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// plan runs PlanScopes offline.
func plan(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("scopeguard plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scopeguard plan [flags] METHOD PATH [METHOD PATH...]")
		fmt.Fprintln(stderr, "Plans the least-privileged scopes for the endpoints an integration calls, offline;")
		fmt.Fprintln(stderr, "exits 1 when an endpoint cannot be covered (unknown, wrong credential kind, requirement unknown).")
		fs.PrintDefaults()
	}
	var common commonFlags
	common.register(fs)
	var views viewFlag
	views.register(fs)
	var optional endpointList
	var clientID, redirectURI string
	fs.Var(&optional, "optional", `an endpoint the integration can live without, as "METHOD PATH" (repeatable)`)
	fs.StringVar(&clientID, "client-id", "", "the public app's client id; when given, the install URL is printed")
	fs.StringVar(&redirectURI, "redirect-uri", "", "the app's redirect URI, for the install URL")
	endpoints, app, err := common.parseEndpoints(fs, args)
	if err != nil {
		return usageError(err)
	}
	view, err := views.view()
	if err != nil {
		return exitUsage, err
	}
	req := &scopeguardv1.PlanScopesRequest{
		Endpoints: endpoints, OptionalEndpoints: optional, AppType: app,
		ClientId: clientID, RedirectUri: redirectURI, View: view,
	}
	resp, code, err := answer(ctx, stdout, common.json, req, (*server.Service).PlanScopes,
		func(w io.Writer, resp *scopeguardv1.PlanScopesResponse) error { return printPlan(w, req, resp) })
	if code != exitOK || err != nil {
		return code, err
	}
	for _, d := range slices.Concat(resp.GetDecisions(), resp.GetOptionalDecisions()) {
		if v := d.GetVerdict(); v != scopeguardv1.Verdict_VERDICT_ALLOWED && v != scopeguardv1.Verdict_VERDICT_NO_SCOPES_REQUIRED {
			return exitNotAllowed, nil
		}
	}
	return exitOK, nil
}

// printPlan writes a PlanScopes answer to req for people.
func printPlan(w io.Writer, req *scopeguardv1.PlanScopesRequest, resp *scopeguardv1.PlanScopesResponse) error {
	fmt.Fprintf(w, "required scopes: %s\n", strings.Join(resp.GetRequiredScopes(), " "))
	if optional := resp.GetOptionalScopes(); len(optional) > 0 {
		fmt.Fprintf(w, "optional scopes: %s\n", strings.Join(optional, " "))
	}
	if !resp.GetExact() {
		fmt.Fprintln(w, "(too many endpoints for an exhaustive search: the plan is the best found, not proven minimal)")
	}
	if url := resp.GetAuthorizeUrl(); url != "" {
		fmt.Fprintf(w, "install URL: %s\n", url)
	}
	_, err := fmt.Fprintln(w)
	endpoints := slices.Concat(req.GetEndpoints(), req.GetOptionalEndpoints())
	for i, d := range slices.Concat(resp.GetDecisions(), resp.GetOptionalDecisions()) {
		printDecision(w, endpoints[i], d)
	}
	return err
}

// headerList is a repeatable flag of "Name: value" response headers.
type headerList map[string]string

func (h headerList) String() string { return "" }

func (h headerList) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q: want \"Name: value\"", v)
	}
	h[strings.TrimSpace(name)] = strings.TrimSpace(value)
	return nil
}

// explainCmd runs ExplainError offline.
func explainCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("scopeguard explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scopeguard explain [flags]")
		fmt.Fprintln(stderr, "Explains a HubSpot error response, offline: its root cause and what to do.")
		fs.PrintDefaults()
	}
	var common commonFlags
	common.register(fs)
	headers := headerList{}
	var status int
	var body, method, path, scopes, clientID, redirectURI string
	fs.IntVar(&status, "status", 0, "HubSpot's HTTP status (0: unknown, only the body is known)")
	fs.StringVar(&body, "body", "", `HubSpot's response body: the text itself, @FILE to read a file, or - to read standard input`)
	fs.Var(headers, "header", `a response header as "Name: value" (repeatable), e.g. "Retry-After: 10"`)
	fs.StringVar(&method, "method", "", "the failed call's HTTP method (with --path)")
	fs.StringVar(&path, "path", "", "the failed call's path or URL (with --method)")
	fs.StringVar(&scopes, "scopes", "", "the scopes the failing token holds, separated by commas or spaces")
	fs.StringVar(&clientID, "client-id", "", "the public app's client id, for the re-authorization URL")
	fs.StringVar(&redirectURI, "redirect-uri", "", "the app's redirect URI, for the re-authorization URL")
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return usageError(err)
	}
	if len(positional) > 0 {
		return exitUsage, fmt.Errorf("unexpected arguments %q (give the body with --body)", positional)
	}
	app, err := common.app()
	if err != nil {
		return exitUsage, err
	}
	text, err := readBody(body, stdin)
	if err != nil {
		return exitUsage, err
	}
	req := &scopeguardv1.ExplainErrorRequest{
		// Clamped so the conversion cannot wrap into a valid status;
		// validation refuses anything but 0 or 100-599.
		HttpStatus: int32(min(max(status, -1), 1000)), Body: text, Headers: headers, AppType: app,
		ClientId: clientID, RedirectUri: redirectURI,
	}
	if method != "" || path != "" {
		req.Endpoint = &scopeguardv1.Endpoint{Method: method, Path: path}
	}
	if scopes != "" {
		req.GrantedScopes = []string{scopes}
	}
	_, code, err := answer(ctx, stdout, common.json, req, (*server.Service).ExplainError, printExplanation)
	return code, err
}

// readBody resolves --body: literal text, @FILE, or - for standard input.
// It reads at most one byte past the API's 1 MiB limit, so that an
// oversized body is refused by validation rather than read whole.
func readBody(arg string, stdin io.Reader) (string, error) {
	var r io.Reader
	switch {
	case arg == "-":
		r = stdin
	case strings.HasPrefix(arg, "@"):
		f, err := os.Open(arg[1:])
		if err != nil {
			return "", err
		}
		defer func() { _ = f.Close() }()
		r = f
	default:
		return arg, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	return string(data), err
}

func printExplanation(w io.Writer, resp *scopeguardv1.ExplainErrorResponse) error {
	cause := strings.TrimPrefix(resp.GetRootCause().String(), "ROOT_CAUSE_")
	fmt.Fprintf(w, "%s", cause)
	if c := resp.GetCategory(); c != "" {
		fmt.Fprintf(w, " (HubSpot: %s)", c)
	}
	fmt.Fprintf(w, "\n%s\n", resp.GetSummary())
	fmt.Fprintf(w, "confidence: %s\n", strings.ToLower(strings.TrimPrefix(resp.GetConfidence().String(), "CONFIDENCE_")))
	if ep := resp.GetEndpoint(); ep != nil {
		fmt.Fprintf(w, "endpoint: %s %s\n", ep.GetMethod(), ep.GetPath())
	}
	if missing := resp.GetMissingScopes(); len(missing) > 0 {
		fmt.Fprintf(w, "missing scopes: %s\n", strings.Join(missing, " "))
	}
	if resp.GetRetryable() {
		fmt.Fprintf(w, "retryable after %s\n", resp.GetRetryAfter().AsDuration())
	}
	for i, r := range resp.GetRemediations() {
		fmt.Fprintf(w, "%d. %s\n", i+1, r.GetDescription())
		if u := r.GetUrl(); u != "" {
			fmt.Fprintf(w, "   %s\n", u)
		}
	}
	if id := resp.GetCorrelationId(); id != "" {
		fmt.Fprintf(w, "correlation id: %s\n", id)
	}
	if len(resp.GetGrantedScopes()) == 0 {
		fmt.Fprintln(w, "token's scopes: not checked (give --scopes)")
	}
	if resp.GetOperation() == nil {
		_, err := fmt.Fprintln(w, "catalog: not consulted (the endpoint is not given or not in the catalog)")
		return err
	}
	_, err := fmt.Fprintf(w, "catalog agrees: %v\n", resp.GetCatalogAgrees())
	return err
}
