package clienttest

import (
	"testing"
	"time"
)

// allowBasicTunneling clears the JDK's default
// jdk.http.auth.tunneling.disabledSchemes=Basic, which otherwise keeps the
// Authenticator from answering a 407 to CONNECT with Basic.
const allowBasicTunneling = "-Djdk.http.auth.tunneling.disabledSchemes="

// TestJavaHttpClient: java.net.http.HttpClient with an Authenticator waits
// for the 407 and answers it. For CONNECT the JDK refuses Basic unless the
// system property above is cleared. A wrong password is tried again and
// again, up to the JDK's retry limit.
func TestJavaHttpClient(t *testing.T) {
	const jdk = "a JDK 11 or later (Debian package default-jdk-headless)"
	java := requireTool(t, "java", jdk)
	javac := requireTool(t, "javac", jdk)
	// Compiled once: source-file mode would compile it again for every case.
	classes := t.TempDir()
	if _, stderr, err := run(t, 120*time.Second, javac, "-d", classes, script("JavaHttpClient.java")); err != nil {
		t.Fatalf("javac: %v\n%s", err, stderr)
	}
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			runCase(t, tc, func(p *proxy, tg target) reply {
				args := append([]string{"-cp", classes}, tc.args[1:]...) // then JVM options
				args = append(args, "JavaHttpClient", tc.args[0], p.url(), testUser, tg.password, tg.caArg(), tg.url)
				return runScript(t, 90*time.Second, java, args...)
			})
		})
	}
}
