package benchclient

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"testing"
)

func TestOriginServesHTTPAndResumesTLS(t *testing.T) {
	o := startTestOrigin(t)

	resp, err := http.Get("http://" + o.HTTPAddr() + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, OriginBody) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("HTTP origin answered %d, Cache-Control %q, body %q", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}

	tc, err := TunnelTLSConfig(o.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	for i, wantResumed := range []bool{false, true, true} {
		conn, err := tls.Dial("tcp", o.HTTPSAddr(), tc)
		if err != nil {
			t.Fatalf("handshake %d: %v", i, err)
		}
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
		all, err := io.ReadAll(conn)
		state := conn.ConnectionState()
		conn.Close()
		if err != nil || !bytes.HasPrefix(all, []byte("HTTP/1.1 200 OK")) || !bytes.HasSuffix(all, OriginBody) {
			t.Fatalf("HTTPS answer %d: %q, %v", i, all, err)
		}
		if state.Version != tls.VersionTLS12 || state.DidResume != wantResumed {
			t.Errorf("handshake %d: version %x resumed %v, want TLS 1.2 resumed %v", i, state.Version, state.DidResume, wantResumed)
		}
	}

	if _, err := TunnelTLSConfig([]byte("not a certificate")); err == nil {
		t.Error("TunnelTLSConfig accepted a PEM without a certificate")
	}
}
