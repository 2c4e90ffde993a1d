package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// tlsConfig builds the gRPC port's TLS configuration from --tls-cert-file
// and --tls-key-file (reloaded when they change) and, with
// --tls-client-ca-file, client certificates: verified when presented, and
// mapped to callers by the callers file's cert_names. A certificate is not
// required, so key-only callers and health probes (which rarely hold one)
// still connect. nil when TLS is off.
func tlsConfig(cfg Config, log *slog.Logger) (*tls.Config, error) {
	if cfg.TLSCertFile == "" {
		return nil, nil
	}
	certs := &certReloader{certFile: cfg.TLSCertFile, keyFile: cfg.TLSKeyFile, log: log}
	if err := certs.load(); err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.getCertificate}
	if cfg.TLSClientCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-client-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-client-ca-file %s: no PEM certificate in it", cfg.TLSClientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// certReloader hands out the certificate pair in certFile and keyFile,
// reading them again when either file's modification time or size changes.
// A pair that does not load (say, the certificate written before its key)
// leaves the previous one in use until the files change again.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu     sync.Mutex
	cert   *tls.Certificate
	stamps [2]fileStamp // of the files last read, whether they loaded or not
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// load reads the pair if the files changed since they were last read.
func (r *certReloader) load() error {
	var stamps [2]fileStamp
	for i, path := range []string{r.certFile, r.keyFile} {
		s, err := stampOf(path)
		if err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		stamps[i] = s
	}
	if r.cert != nil && stamps == r.stamps {
		return nil
	}
	r.stamps = stamps
	pair, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		// LoadX509KeyPair's errors name files and PEM problems, never key
		// material.
		return fmt.Errorf("TLS certificate %s with key %s: %w", r.certFile, r.keyFile, err)
	}
	if r.cert != nil {
		r.log.Info("reloaded the TLS certificate", slog.String("cert_file", r.certFile))
	}
	r.cert = &pair
	return nil
}

func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		r.log.Error("TLS certificate not reloaded; serving the previous one", slog.String("error", err.Error()))
	}
	if r.cert == nil {
		return nil, errors.New("no TLS certificate loaded")
	}
	return r.cert, nil
}
