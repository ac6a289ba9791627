// Package clienttest holds the client matrix of docs/clients.md: tests that
// drive real clients (Chromium through Playwright, Python requests and
// urllib, Node.js undici, Go net/http, Java's HttpClient and
// HttpURLConnection, wget, curl) through cmd/caddy, run as a subprocess with
// proxy_auth in front of dev_forward_proxy, to loopback origins over plain
// HTTP and through a CONNECT tunnel to HTTPS, with Basic and with Digest.
//
// Each test asserts what the client got from the origin, that the origin
// never saw Proxy-Authorization, and how many 407s the proxy sent on the
// way, read from the proxy's own access log: 0 for a client that sends
// credentials up front, one per exchange for a client that waits for the
// challenge. proxy_auth's own log lines say which scheme let each request
// through, and a relay in front of the proxy keeps what the client sent,
// so that a test can tell which Digest challenge it answered and how.
//
// The package has no code of its own; everything is in its tests. The
// clients it needs are installed by .ci/run; a missing one fails the test
// with what to install.
package clienttest
