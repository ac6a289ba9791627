package clienttest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// allowBasicTunneling clears the JDK's default
// jdk.http.auth.tunneling.disabledSchemes=Basic, which otherwise keeps the
// Authenticator from answering a 407 to CONNECT with Basic.
const allowBasicTunneling = "-Djdk.http.auth.tunneling.disabledSchemes="

// The Java clients, compiled once per run: source-file mode would compile
// them again for every case.
var javaBuild struct {
	once    sync.Once
	classes string
	err     string
}

// javaClients compiles the Java client programs and returns the java
// command and the class directory.
func javaClients(t *testing.T) (java, classes string) {
	t.Helper()
	const jdk = "a JDK 11 or later (Debian package default-jdk-headless)"
	java = requireTool(t, "java", jdk)
	javac := requireTool(t, "javac", jdk)
	javaBuild.once.Do(func() {
		// Beside cmd/caddy, in the directory TestMain removes.
		dir := filepath.Join(filepath.Dir(caddyBin), "java")
		if err := os.Mkdir(dir, 0o755); err != nil {
			javaBuild.err = err.Error()
			return
		}
		if _, stderr, err := run(t, 120*time.Second, javac, "-d", dir, script("JavaHttpClient.java"), script("JavaURLConnection.java")); err != nil {
			javaBuild.err = "javac: " + err.Error() + "\n" + stderr
			return
		}
		javaBuild.classes = dir
	})
	if javaBuild.err != "" {
		t.Fatal(javaBuild.err)
	}
	return java, javaBuild.classes
}

// runJavaCase runs the Java client class for tc: tc.args[0] is its mode,
// the rest JVM options.
func runJavaCase(t *testing.T, class string, tc clientCase) {
	t.Helper()
	java, classes := javaClients(t)
	runCase(t, tc, func(p *proxy, tg target) reply {
		args := append([]string{"-cp", classes}, tc.args[1:]...)
		args = append(args, class, tc.args[0], p.url(), testUser, tg.password, tg.caArg(), tg.url)
		return runScript(t, 90*time.Second, java, args...)
	})
}

// TestJavaHttpClient: java.net.http.HttpClient with an Authenticator waits
// for the 407 and answers it, with Basic only. For CONNECT the JDK refuses
// Basic unless the system property above is cleared. A wrong password is
// tried again and again, up to the JDK's retry limit.
func TestJavaHttpClient(t *testing.T) {
	for _, tc := range []clientCase{
		{name: "Authenticator", args: []string{"authenticator"}, want: 200, saw: proxySaw{challenges: 1, passed: "GET"}},
		// The Authenticator is not asked; the 407 to CONNECT comes back as
		// the response.
		{name: "Authenticator tunnel, Basic disabled for tunneling", args: []string{"authenticator"}, tls: true, want: 407, saw: proxySaw{challenges: 1}},
		{name: "Authenticator tunnel", args: []string{"authenticator", allowBasicTunneling}, tls: true, want: 200, saw: proxySaw{challenges: 1, passed: "CONNECT"}},
		// The client asks the Authenticator again after each 407, and gives up
		// only after its retry limit (jdk.httpclient.auth.retrylimit, 3):
		// one request costs four wrong attempts.
		{name: "wrong password", args: []string{"authenticator"}, password: "wrong", wantErr: "too many authentication attempts", saw: proxySaw{challenges: 5, wrong: 4}},
		{name: "wrong password tunnel", args: []string{"authenticator", allowBasicTunneling}, tls: true, password: "wrong", wantErr: "too many authentication attempts", saw: proxySaw{challenges: 5, wrong: 4}},
		// HttpClient has no Digest: the 407 of a Digest-only proxy is the
		// response, and the Authenticator is not asked.
		{name: "Digest proxy", args: []string{"authenticator"}, offer: []string{"digest"}, want: 407, saw: proxySaw{challenges: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) { runJavaCase(t, "JavaHttpClient", tc) })
	}
}

// limitsOff turns off proxy_auth's failed-attempt limits, to see where a
// client that keeps trying a wrong password stops by itself.
var limitsOff = []string{"address_limit off", "user_limit off"}

// TestJavaURLConnection: java.net.HttpURLConnection with a default
// Authenticator waits for the 407 and answers it, with Basic or Digest
// (Digest preferred; NTLM and Negotiate it has too). Of several Digest
// challenges it answers the last, and it knows MD5 and SHA-256 but not
// SHA-512-256. Digest is not in jdk.http.auth.tunneling.disabledSchemes, so
// it answers a 407 to CONNECT. A wrong password is asked for again after
// every 407, up to http.maxRedirects (20) exchanges.
func TestJavaURLConnection(t *testing.T) {
	for _, tc := range []clientCase{
		{name: "Basic", args: []string{"authenticator"}, want: 200, saw: proxySaw{challenges: 1, passed: "GET"}},
		// As with HttpClient, the Authenticator is not asked, and the 407
		// to CONNECT is the response.
		{name: "Basic tunnel, Basic disabled for tunneling", args: []string{"authenticator"}, tls: true, want: 407, saw: proxySaw{challenges: 1}},
		{name: "Basic tunnel", args: []string{"authenticator", allowBasicTunneling}, tls: true, want: 200, saw: proxySaw{challenges: 1, passed: "CONNECT"}},

		// proxy_auth's default order is SHA-256, SHA-512-256, MD5: the
		// JDK answers MD5, the last.
		{name: "Digest", args: []string{"authenticator"}, offer: []string{"digest"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "MD5", uri: "absolute"}}},
		{name: "Digest tunnel", args: []string{"authenticator"}, offer: []string{"digest"}, tls: true, want: 200,
			saw: proxySaw{challenges: 1, passed: "CONNECT", scheme: "Digest", digest: &digestAnswer{algorithm: "MD5", uri: "authority"}}},
		{name: "Digest SHA-256", args: []string{"authenticator"}, offer: []string{"digest SHA-256"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", uri: "absolute"}}},
		{name: "Digest SHA-256 tunnel", args: []string{"authenticator"}, offer: []string{"digest SHA-256"}, tls: true, want: 200,
			saw: proxySaw{challenges: 1, passed: "CONNECT", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", uri: "authority"}}},
		{name: "Digest MD5 SHA-256", args: []string{"authenticator"}, offer: []string{"digest MD5 SHA-256"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", uri: "absolute"}}},
		// With SHA-512-256 last (what `digest` offers for accounts that
		// have no MD5 line), the JDK does not answer at all.
		{name: "Digest SHA-256 SHA-512-256", args: []string{"authenticator"}, offer: []string{"digest SHA-256 SHA-512-256"}, want: 407, saw: proxySaw{challenges: 1}},
		{name: "Digest SHA-512-256 SHA-256", args: []string{"authenticator"}, offer: []string{"digest SHA-512-256 SHA-256"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", uri: "absolute"}}},
		// Offered both, it takes Digest whatever the order.
		{name: "Digest or Basic", args: []string{"authenticator"}, offer: []string{"digest SHA-256", "basic"}, want: 200,
			saw: proxySaw{challenges: 1, passed: "GET", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", uri: "absolute"}}},
		{name: "Basic or Digest tunnel", args: []string{"authenticator"}, offer: []string{"basic", "digest SHA-256"}, tls: true, want: 200,
			saw: proxySaw{challenges: 1, passed: "CONNECT", scheme: "Digest", digest: &digestAnswer{algorithm: "SHA-256", uri: "authority"}}},

		// A wrong password: the JDK keeps answering each new 407 until the
		// proxy's failed-attempt limit (10 a minute) locks the address out
		// and the 429 ends it. Without the limits it stops by itself after
		// 20 exchanges, 19 of them wrong, and returns the last 407.
		{name: "Basic wrong password", args: []string{"authenticator"}, password: "wrong", want: 429, saw: proxySaw{challenges: 11, wrong: 10, locked: 1}},
		{name: "Digest wrong password", args: []string{"authenticator"}, offer: []string{"digest SHA-256"}, password: "wrong", want: 429,
			saw: proxySaw{challenges: 11, wrong: 10, locked: 1, digest: &digestAnswer{algorithm: "SHA-256", uri: "absolute"}}},
		{name: "Digest wrong password, limits off", args: []string{"authenticator"}, offer: append([]string{"digest SHA-256"}, limitsOff...), password: "wrong", want: 407,
			saw: proxySaw{challenges: 20, wrong: 19, digest: &digestAnswer{algorithm: "SHA-256", uri: "absolute"}}},
	} {
		t.Run(tc.name, func(t *testing.T) { runJavaCase(t, "JavaURLConnection", tc) })
	}
}
