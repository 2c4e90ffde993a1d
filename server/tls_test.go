package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/internal/logbuf"
	"github.com/eshopman/scopeguard/server"
)

// testCA issues certificates for the tests' real TLS handshakes.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serials atomic.Int64

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serials.Add(1)),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a leaf certificate for the names (DNS names, IPs or URIs)
// and returns it and its key in PEM, with its serial number.
func (ca *testCA) issue(t *testing.T, usage x509.ExtKeyUsage, names ...string) (certPEM, keyPEM []byte, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial = serials.Add(1)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, n := range names {
		switch u, err := url.Parse(n); {
		case net.ParseIP(n) != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(n))
		case err == nil && u.Scheme != "":
			tmpl.URIs = append(tmpl.URIs, u)
		default:
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), serial
}

// clientCert is a client certificate for grpc's TLS credentials.
func (ca *testCA) clientCert(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	certPEM, keyPEM, _ := ca.issue(t, x509.ExtKeyUsageClientAuth, names...)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// tlsServer is scopeguard serving TLS on a real loopback port.
type tlsServer struct {
	addr     string
	roots    *x509.CertPool
	certFile string
	keyFile  string
	logs     *logbuf.Buffer
	serverCA *testCA
}

// startTLSServer serves the offline service with a certificate from its own
// CA and, when clientCA is set, client certificates verified against it.
func startTLSServer(t *testing.T, clientCA *testCA, callersYAML string) *tlsServer {
	t.Helper()
	dir := t.TempDir()
	ts := &tlsServer{serverCA: newTestCA(t, "scopeguard test server CA"), logs: &logbuf.Buffer{},
		certFile: filepath.Join(dir, "server.pem"), keyFile: filepath.Join(dir, "server-key.pem")}
	ts.roots = x509.NewCertPool()
	ts.roots.AddCert(ts.serverCA.cert)
	ts.writePair(t, time.Now())
	cfg := testConfig()
	cfg.HubSpotAPIURL = "http://127.0.0.1:1"
	cfg.TLSCertFile, cfg.TLSKeyFile = ts.certFile, ts.keyFile
	if clientCA != nil {
		cfg.TLSClientCAFile = filepath.Join(dir, "clients-ca.pem")
		if err := os.WriteFile(cfg.TLSClientCAFile, clientCA.pem, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if callersYAML != "" {
		cfg.AppsFile = writeFile(t, "apps.yaml", testAppsYAML)
		cfg.CallersFile = writeFile(t, "callers.yaml", callersYAML)
	}
	log := slog.New(slog.NewJSONHandler(ts.logs, nil))
	svc, err := server.BuildService(cfg, log, server.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	ts.addr, _ = serveLoopback(t, cfg, log, svc)
	return ts
}

// writePair writes a fresh server certificate for 127.0.0.1 with the given
// modification time.
func (ts *tlsServer) writePair(t *testing.T, mod time.Time) int64 {
	t.Helper()
	certPEM, keyPEM, serial := ts.serverCA.issue(t, x509.ExtKeyUsageServerAuth, "127.0.0.1", "localhost")
	for path, data := range map[string][]byte{ts.certFile: certPEM, ts.keyFile: keyPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	return serial
}

// dial connects with TLS, presenting the client certificates given.
func (ts *tlsServer) dial(t *testing.T, clientCerts ...tls.Certificate) *grpc.ClientConn {
	t.Helper()
	creds := credentials.NewTLS(&tls.Config{RootCAs: ts.roots, Certificates: clientCerts, MinVersion: tls.VersionTLS12})
	conn, err := grpc.NewClient(ts.addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// servedSerial is the serial number of the certificate a fresh handshake
// gets.
func (ts *tlsServer) servedSerial(t *testing.T) int64 {
	t.Helper()
	dialer := &tls.Dialer{Config: &tls.Config{RootCAs: ts.roots, ServerName: "127.0.0.1", NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}}
	conn, err := dialer.DialContext(t.Context(), "tcp", ts.addr)
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer func() { _ = conn.Close() }()
	tlsConn, ok := conn.(*tls.Conn)
	if !ok {
		t.Fatalf("tls.Dialer gave a %T", conn)
	}
	return tlsConn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

var contactsCheck = &scopeguardv1.CheckScopesRequest{
	Endpoints:     []*scopeguardv1.Endpoint{{Method: "GET", Path: "/crm/v3/objects/contacts"}},
	GrantedScopes: []string{"crm.objects.contacts.read"},
}

func TestTLSServesAndReloadsItsCertificate(t *testing.T) {
	t.Parallel()
	ts := startTLSServer(t, nil, "")
	conn := ts.dial(t)
	if _, err := scopeguardv1.NewScopeGuardServiceClient(conn).CheckScopes(t.Context(), contactsCheck); err != nil {
		t.Fatalf("CheckScopes over TLS: %v", err)
	}
	first := ts.servedSerial(t)

	// A renewed pair is served from the next handshake on, without a
	// restart; the open connection keeps working.
	renewed := ts.writePair(t, time.Now().Add(time.Minute))
	if got := ts.servedSerial(t); got != renewed || got == first {
		t.Errorf("served certificate %d after renewal, want the renewed %d (first was %d)", got, renewed, first)
	}
	if _, err := grpc_health_v1.NewHealthClient(conn).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{}); err != nil {
		t.Errorf("open connection after the renewal: %v", err)
	}

	// A broken pair (the certificate written, the key not yet) keeps the
	// last good one, and says why.
	if err := os.WriteFile(ts.certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Minute)
	if err := os.Chtimes(ts.certFile, later, later); err != nil {
		t.Fatal(err)
	}
	if got := ts.servedSerial(t); got != renewed {
		t.Errorf("served certificate %d with a broken pair on disk, want the last good %d", got, renewed)
	}
	if !strings.Contains(ts.logs.String(), "TLS certificate not reloaded; serving the previous one") {
		t.Errorf("broken pair not logged:\n%s", ts.logs.String())
	}
}

func TestMutualTLSNamesCallers(t *testing.T) {
	t.Parallel()
	clients := newTestCA(t, "scopeguard test client CA")
	callersYAML := checkoutOnlyYAML + `    cert_names: [spiffe://eshopman.internal/ns/prod/sa/reports]
  mesh:
    cert_names: [mesh.internal.example]
`
	ts := startTLSServer(t, clients, callersYAML)
	reports := clients.clientCert(t, "spiffe://eshopman.internal/ns/prod/sa/reports")
	check := func(conn *grpc.ClientConn, ctx context.Context) error {
		_, err := scopeguardv1.NewScopeGuardServiceClient(conn).CheckScopes(ctx, contactsCheck)
		return err
	}

	if err := check(ts.dial(t, reports), t.Context()); err != nil {
		t.Errorf("CheckScopes with reports' SPIFFE certificate: %v", err)
	}
	if err := check(ts.dial(t, clients.clientCert(t, "mesh.internal.example")), t.Context()); err != nil {
		t.Errorf("CheckScopes with mesh's DNS certificate: %v", err)
	}
	if !strings.Contains(ts.logs.String(), `"caller":"reports"`) || !strings.Contains(ts.logs.String(), `"caller":"mesh"`) {
		t.Errorf("logs do not name the certificates' callers:\n%s", ts.logs.String())
	}
	// Without a certificate, a key still works (and health needs neither).
	plain := ts.dial(t)
	if err := check(plain, withKey(t.Context(), checkoutKey)); err != nil {
		t.Errorf("CheckScopes by key over TLS: %v", err)
	}
	if _, err := grpc_health_v1.NewHealthClient(plain).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{}); err != nil {
		t.Errorf("health check without a certificate: %v", err)
	}

	tests := []struct {
		name    string
		conn    *grpc.ClientConn
		ctx     context.Context
		problem string
	}{
		{"a certificate no caller is named by", ts.dial(t, clients.clientCert(t, "spiffe://eshopman.internal/ns/prod/sa/intruder")), t.Context(), "no_credentials"},
		{"a key and a certificate of different callers", ts.dial(t, reports), withKey(t.Context(), checkoutKey), "conflicting_credentials"},
	}
	for _, tt := range tests {
		err := check(tt.conn, tt.ctx)
		wantStatus(t, err, codes.Unauthenticated, scopeguardv1.ErrorReason_CALLER_UNAUTHENTICATED, nil)
		if got := wantDetail[*errdetails.ErrorInfo](t, err).GetMetadata()["problem"]; got != tt.problem {
			t.Errorf("%s: problem %q, want %q", tt.name, got, tt.problem)
		}
	}

	// A certificate from another CA, even one naming a caller, fails the
	// handshake: nothing is served. (Go clients would not even send it, as
	// the server asks for its own CA's certificates; this one insists.)
	stranger := newTestCA(t, "someone else's CA").clientCert(t, "spiffe://eshopman.internal/ns/prod/sa/reports")
	insisting := credentials.NewTLS(&tls.Config{RootCAs: ts.roots, MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &stranger, nil }})
	conn, err := grpc.NewClient(ts.addr, grpc.WithTransportCredentials(insisting))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if err := check(conn, t.Context()); status.Code(err) != codes.Unavailable {
		t.Errorf("CheckScopes with a certificate of an unknown CA = %v, want Unavailable (handshake refused)", err)
	}
}
