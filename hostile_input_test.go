package proxyauth

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestHostileProxyAuthorizationFields sends what a fuzzer or an attacker
// would, over real TCP: every answer is a 407, or a 400 or 431 from the
// HTTP server itself (bytes HTTP forbids in a field; more header than
// max_header_bytes), and the proxy keeps serving.
func TestHostileProxyAuthorizationFields(t *testing.T) {
	abuseProxy(t, "", "hostile", "")
	plain := newOrigin(t, false)
	token := strings.TrimPrefix(basicCredentials("alice", "alice-pw"), "Basic ")
	request := func(fields ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "GET %s/ HTTP/1.1\r\nHost: %s\r\n", plain.URL, plain.Listener.Addr())
		for _, f := range fields {
			b.WriteString("Proxy-Authorization: " + f + "\r\n")
		}
		b.WriteString("\r\n")
		return b.String()
	}
	repeat := func(field string, n int) []string {
		fields := make([]string, n)
		for i := range fields {
			fields[i] = field
		}
		return fields
	}
	for _, tc := range []struct {
		name   string
		fields []string
		want   []int
	}{
		{"just over the length the parser accepts", []string{"Basic " + strings.Repeat("A", maxCredentialsLength)}, []int{407}},
		{"12 KiB of base64", []string{"Basic " + strings.Repeat("QUFB", 3<<10)}, []int{407}},
		// Caddy reads at most max_header_bytes (16 KiB by default) of header.
		{"64 KiB of base64", []string{"Basic " + strings.Repeat("QUFB", 16<<10)}, []int{431}},
		{"256 KiB of base64", []string{"Basic " + strings.Repeat("QUFB", 64<<10)}, []int{431}},
		{"300 valid fields", repeat(basicCredentials("alice", "alice-pw"), 300), []int{407}},
		{"500 empty fields", repeat("", 500), []int{407}},
		{"5000 fields", repeat("Basic x", 5000), []int{431}},
		{"valid, then empty", []string{basicCredentials("alice", "alice-pw"), ""}, []int{407}},
		{"NUL byte in the field", []string{"Basic " + token[:4] + "\x00" + token[4:]}, []int{400}},
		{"NUL in the scheme", []string{"Ba\x00sic " + token}, []int{400}},
		{"invalid UTF-8 in the field", []string{"Basic \xff\xfe" + token}, []int{407}},
		{"invalid UTF-8 scheme", []string{"\xc3\x28 " + token}, []int{407}},
		{"invalid UTF-8 user, decoded", []string{basicCredentials("\xff\xfe", "x")}, []int{407}},
		{"an 8000-byte scheme name", []string{strings.Repeat("B", 8000) + " " + token}, []int{407}},
		{"spaces only", []string{"          "}, []int{407}},
		{"tabs between scheme and token", []string{"Basic\t\t\t" + strings.Repeat("=", 100)}, []int{407}},
		{"control characters", []string{"Basic \x01\x02\x7f"}, []int{400, 407}},
		{"many parameters", []string{"Basic " + strings.Repeat("a=b, ", 1500)}, []int{407}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := exchangeFrom(t, "127.0.0.70", request(tc.fields...))
			ok := false
			for _, w := range tc.want {
				ok = ok || resp.StatusCode == w
			}
			if !ok {
				t.Errorf("status %d, want one of %v", resp.StatusCode, tc.want)
			}
		})
	}
	// None of that counted as a guess, and the proxy still works.
	if resp := getVia(t, "127.0.0.70", plain.URL+"/after", "alice", "alice-pw"); resp.StatusCode != http.StatusOK {
		t.Fatalf("valid credentials after the hostile input: %d", resp.StatusCode)
	}
	if n := len(plain.requests()); n != 1 {
		t.Errorf("origin saw %d requests, want the 1 authenticated one", n)
	}
}
