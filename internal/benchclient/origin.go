package benchclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"time"
)

// OriginBody is what the benchmark origin answers every request with: small,
// so that a proxy's per-request work, not copying, sets the rate.
var OriginBody = []byte("proxy_auth benchmark origin: a small fixed answer of about a hundred bytes, never cached.\n")

// Origin is the benchmark's web server on loopback: plain HTTP for proxied
// GETs and HTTPS for CONNECT tunnels, answering every request with
// OriginBody. Its certificate is self-signed for 127.0.0.1.
type Origin struct {
	HTTP, HTTPS *http.Server
	httpLn      net.Listener
	httpsLn     net.Listener
	// CertPEM is the certificate clients must trust for the HTTPS side.
	CertPEM []byte
}

// StartOrigin listens on httpAddr and httpsAddr (port 0 picks a free one)
// and serves until Close.
func StartOrigin(httpAddr, httpsAddr string) (*Origin, error) {
	cert, certPEM, err := selfSignedCert()
	if err != nil {
		return nil, err
	}
	o := &Origin{CertPEM: certPEM}
	o.httpLn, err = net.Listen("tcp", httpAddr)
	if err != nil {
		return nil, err
	}
	o.httpsLn, err = net.Listen("tcp", httpsAddr)
	if err != nil {
		o.httpLn.Close()
		return nil, err
	}
	handler := http.HandlerFunc(serveOrigin)
	o.HTTP = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	o.HTTPS = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// HTTP/1.1 only: tunnels carry one short exchange each.
		TLSConfig:    &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}},
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go o.HTTP.Serve(o.httpLn)
	go o.HTTPS.ServeTLS(o.httpsLn, "", "")
	return o, nil
}

// HTTPAddr and HTTPSAddr are the addresses actually listened on.
func (o *Origin) HTTPAddr() string  { return o.httpLn.Addr().String() }
func (o *Origin) HTTPSAddr() string { return o.httpsLn.Addr().String() }

// Close stops both servers.
func (o *Origin) Close() error {
	return errors.Join(o.HTTP.Close(), o.HTTPS.Close())
}

var originBodyLength = strconv.Itoa(len(OriginBody))

func serveOrigin(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["Content-Length"] = []string{originBodyLength}
	// Squid would otherwise be free to answer from its cache.
	h["Cache-Control"] = []string{"no-store"}
	_, _ = w.Write(OriginBody)
}

func selfSignedCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "proxy_auth benchmark origin"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}

// TunnelTLSConfig is the client side of the origin's HTTPS for tunnels:
// it trusts certPEM, and resumes TLS 1.2 sessions so that every tunnel
// after the first makes an abbreviated handshake. A full handshake costs the
// client and origin (on the load generator's core) far more than the proxy
// spends on a tunnel, and would set the rate instead of the proxy.
func TunnelTLSConfig(certPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		return nil, errors.New("no certificate in the origin's PEM")
	}
	return &tls.Config{
		RootCAs:            pool,
		ServerName:         "127.0.0.1",
		MaxVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(1024),
	}, nil
}
