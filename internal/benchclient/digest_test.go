package benchclient

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// newTestDigest is a Digest client whose cnonces are fixed, so that its
// answers can be compared with published ones.
func newTestDigest(t *testing.T, user, pass, algorithm string, cnonces ...string) *Digest {
	t.Helper()
	d, err := NewDigest(user, pass, algorithm)
	if err != nil {
		t.Fatal(err)
	}
	d.newCnonce = func() string {
		if len(cnonces) == 0 {
			t.Fatal("more cnonces asked for than the test gave")
		}
		c := cnonces[0]
		cnonces = cnonces[1:]
		return c
	}
	return d
}

// authParams parses a Proxy-Authorization value made by Digest.
func authParams(t *testing.T, field string) map[string]string {
	t.Helper()
	cs, err := ParseChallenges([]string{field})
	if err != nil || len(cs) != 1 || cs[0].Scheme != "Digest" {
		t.Fatalf("cannot parse %q as Digest credentials: %v", field, err)
	}
	return cs[0].Params
}

// RFC 7616 §3.9.1: the same request answered with SHA-256 and with MD5.
const (
	rfcRealm  = "http-auth@example.org"
	rfcNonce  = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
	rfcOpaque = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
	rfcCnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
)

func TestDigestRFC7616Examples(t *testing.T) {
	for _, tt := range []struct {
		algorithm, response string
	}{
		{"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
		{"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
	} {
		t.Run(tt.algorithm, func(t *testing.T) {
			d := newTestDigest(t, "Mufasa", "Circle of Life", tt.algorithm, rfcCnonce)
			stale, err := d.Challenged([]string{
				`Digest realm="` + rfcRealm + `", qop="auth, auth-int", algorithm=SHA-256, nonce="` + rfcNonce + `", opaque="` + rfcOpaque + `"`,
				`Digest realm="` + rfcRealm + `", qop="auth, auth-int", algorithm=MD5, nonce="` + rfcNonce + `", opaque="` + rfcOpaque + `"`,
			})
			if err != nil || stale {
				t.Fatalf("Challenged = %v, %v", stale, err)
			}
			got := d.Authorization("GET", "/dir/index.html")
			want := `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=` + tt.algorithm +
				`, nonce="` + rfcNonce + `", nc=00000001, cnonce="` + rfcCnonce + `", qop=auth, response="` + tt.response +
				`", opaque="` + rfcOpaque + `"`
			if got != want {
				t.Errorf("Authorization:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// Answers curl 7.88.1 computed for the same inputs (issue 3's vectors): a
// CONNECT with the authority as uri, and a GET with a path as uri.
func TestDigestMatchesCurl(t *testing.T) {
	for _, tt := range []struct {
		method, uri, cnonce, response string
	}{
		{"CONNECT", "example.invalid:443", "ZmQyMzRhZTE5YTJmYjhlYjE5OTE1NjgwYjI0N2ViMTU=", "1545a8702af68758eb52d660dafc2bb9"},
		{"GET", "/a/b?q=1", "M2RmMmM1YmE1NzJhMGExMDIzNzYyOGUxZTg1NmVlNTc=", "28199520e7ae14cca6f5709f9a7c0f99"},
	} {
		d := newTestDigest(t, "user", "pass", "", tt.cnonce)
		if _, err := d.Challenged([]string{`Digest realm="Realm1", nonce="abc123", qop="auth", algorithm=MD5`}); err != nil {
			t.Fatal(err)
		}
		p := authParams(t, d.Authorization(tt.method, tt.uri))
		if p["response"] != tt.response || p["uri"] != tt.uri || p["nc"] != "00000001" {
			t.Errorf("%s %s: response %s uri %s nc %s, want response %s", tt.method, tt.uri, p["response"], p["uri"], p["nc"], tt.response)
		}
	}
}

// RFC 7616 §3.9.2: SHA-512-256, a non-ASCII user name, hashed (userhash)
// or, without userhash, sent as username* (RFC 8187).
//
// The RFC prints username 488869477bf2... and response ae66e67d6b42...;
// those are SHA-512 cut to 256 bits, not SHA-512/256 (FIPS 180-4 §6.7,
// with its own initial hash value), which §3.2 names. The test shows that,
// and expects the real SHA-512/256 figures.
func TestDigestRFC7616UserhashExample(t *testing.T) {
	const (
		nonce  = "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK"
		opaque = "HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS"
		cnonce = "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v"
	)
	truncatedSHA512 := func(s string) string { b := sha512.Sum512([]byte(s)); return hex.EncodeToString(b[:32]) }
	if got := truncatedSHA512("Jäsøn Doe:api@example.org"); got != "488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec" {
		t.Fatalf("the RFC's printed userhash is not truncated SHA-512 after all: %s", got)
	}
	ha1 := truncatedSHA512("Jäsøn Doe:api@example.org:Secret, or not?")
	if got := kd(truncatedSHA512, ha1, nonce, "00000001", cnonce, "GET", "/doe.json"); got != "ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd" {
		t.Fatalf("the RFC's printed response is not truncated SHA-512 after all: %s", got)
	}
	for _, userhash := range []string{"true", "false"} {
		t.Run("userhash="+userhash, func(t *testing.T) {
			d := newTestDigest(t, "Jäsøn Doe", "Secret, or not?", "", cnonce)
			if _, err := d.Challenged([]string{`Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, nonce="` + nonce +
				`", opaque="` + opaque + `", charset=UTF-8, userhash=` + userhash}); err != nil {
				t.Fatal(err)
			}
			field := d.Authorization("GET", "/doe.json")
			p := authParams(t, field)
			if got, want := p["response"], "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"; got != want {
				t.Errorf("response = %s, want %s", got, want)
			}
			if userhash == "true" {
				if got, want := p["username"], "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b"; got != want {
					t.Errorf("username = %s, want %s", got, want)
				}
				if p["userhash"] != "true" {
					t.Errorf("userhash not echoed in %s", field)
				}
				return
			}
			if got, want := p["username*"], "UTF-8''J%C3%A4s%C3%B8n%20Doe"; got != want {
				t.Errorf("username* = %q, want %q (in %s)", got, want, field)
			}
			if _, ok := p["username"]; ok {
				t.Errorf("both username and username* in %s", field)
			}
		})
	}
}

// kd computes an RFC 7616 §3.4.1 response independently of the code under test.
func kd(h func(string) string, ha1, nonce, nc, cnonce, method, uri string) string {
	return h(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + h(method+":"+uri))
}

func md5hex(s string) string    { b := md5.Sum([]byte(s)); return hex.EncodeToString(b[:]) }
func sha256hex(s string) string { b := sha256.Sum256([]byte(s)); return hex.EncodeToString(b[:]) }

func TestDigestCountsRequestsOnOneNonce(t *testing.T) {
	d := newTestDigest(t, "alice", "pw", "", "c1", "c2", "c3")
	if d.Authorization("GET", "http://o/") != "" {
		t.Fatal("credentials before any challenge")
	}
	if _, err := d.Challenged([]string{`Digest realm="r", nonce="n1", qop=auth`}); err != nil {
		t.Fatal(err)
	}
	ha1 := md5hex("alice:r:pw")
	for i := 1; i <= 3; i++ {
		p := authParams(t, d.Authorization("GET", "http://o/"))
		nc := fmt.Sprintf("%08x", i)
		if p["nc"] != nc || p["nonce"] != "n1" || p["cnonce"] != "c1" {
			t.Fatalf("request %d: nc=%s nonce=%s cnonce=%s, want nc=%s on nonce n1 with cnonce c1", i, p["nc"], p["nonce"], p["cnonce"], nc)
		}
		if want := kd(md5hex, ha1, "n1", nc, "c1", "GET", "http://o/"); p["response"] != want {
			t.Fatalf("request %d: response %s, want %s", i, p["response"], want)
		}
		if p["algorithm"] != "MD5" {
			t.Errorf("algorithm = %q; a challenge without one means MD5", p["algorithm"])
		}
		if _, ok := p["opaque"]; ok {
			t.Errorf("opaque sent though the challenge had none")
		}
	}

	// A stale nonce: new nonce, nc starts again, a new cnonce.
	stale, err := d.Challenged([]string{`Digest realm="r", nonce="n2", qop=auth, stale=TRUE`})
	if err != nil || !stale {
		t.Fatalf("Challenged(stale) = %v, %v; want stale", stale, err)
	}
	p := authParams(t, d.Authorization("CONNECT", "o:443"))
	if p["nonce"] != "n2" || p["nc"] != "00000001" || p["cnonce"] != "c2" || p["uri"] != "o:443" {
		t.Errorf("after stale: %v", p)
	}

	// nextnonce in Proxy-Authentication-Info takes over from the next request.
	if err := d.AuthenticationInfo(`qop=auth, rspauth="x", cnonce="c2", nc=00000001, nextnonce="n3"`); err != nil {
		t.Fatal(err)
	}
	p = authParams(t, d.Authorization("GET", "http://o/"))
	if p["nonce"] != "n3" || p["nc"] != "00000001" || p["cnonce"] != "c3" {
		t.Errorf("after nextnonce: %v", p)
	}
	// The same nonce again in an info field changes nothing.
	if err := d.AuthenticationInfo(`nextnonce="n3"`); err != nil {
		t.Fatal(err)
	}
	if p := authParams(t, d.Authorization("GET", "http://o/")); p["nc"] != "00000002" {
		t.Errorf("nc after a repeated nextnonce = %s, want 00000002", p["nc"])
	}
}

func TestDigestSessVariant(t *testing.T) {
	d := newTestDigest(t, "bob", "secret", "", "cn")
	if _, err := d.Challenged([]string{`Digest realm="r", nonce="nn", qop="auth", algorithm=SHA-256-sess, opaque=""`}); err != nil {
		t.Fatal(err)
	}
	p := authParams(t, d.Authorization("GET", "http://x/"))
	ha1 := sha256hex(sha256hex("bob:r:secret") + ":nn:cn")
	if want := kd(sha256hex, ha1, "nn", "00000001", "cn", "GET", "http://x/"); p["response"] != want {
		t.Errorf("SHA-256-sess response %s, want %s", p["response"], want)
	}
	if v, ok := p["opaque"]; !ok || v != "" {
		t.Errorf("an empty opaque must be echoed as given; got %q, %v", v, ok)
	}
}

func TestDigestPicksStrongestOrInsisted(t *testing.T) {
	offer := []string{
		`Digest realm="r", nonce="a", qop=auth, algorithm=MD5`,
		`Digest realm="r", nonce="b", qop=auth, algorithm=SHA-256`,
		`Digest realm="r", nonce="c", qop=auth, algorithm=UNKNOWN-9`,
		`Basic realm="r"`,
	}
	d := newTestDigest(t, "u", "p", "", "x")
	if _, err := d.Challenged(offer); err != nil {
		t.Fatal(err)
	}
	if p := authParams(t, d.Authorization("GET", "/")); p["algorithm"] != "SHA-256" || p["nonce"] != "b" {
		t.Errorf("picked %s/%s, want the strongest offered, SHA-256", p["algorithm"], p["nonce"])
	}

	d = newTestDigest(t, "u", "p", "md5", "x")
	if _, err := d.Challenged(offer); err != nil {
		t.Fatal(err)
	}
	if p := authParams(t, d.Authorization("GET", "/")); p["algorithm"] != "MD5" {
		t.Errorf("picked %s, want the insisted-on MD5", p["algorithm"])
	}

	d = newTestDigest(t, "u", "p", "SHA-512-256")
	if _, err := d.Challenged(offer); err == nil || !strings.Contains(err.Error(), "SHA-512-256") {
		t.Errorf("insisting on an algorithm not offered: err = %v", err)
	}
	if _, err := NewDigest("u", "p", "SHA-1"); err == nil {
		t.Error("NewDigest accepted an unknown algorithm")
	}
}

func TestDigestRefusesUnanswerableChallenges(t *testing.T) {
	for field, want := range map[string]string{
		`Basic realm="r"`:                                        "no Digest challenge",
		`Digest realm="r", qop=auth`:                             "without a nonce",
		`Digest nonce="n", qop=auth`:                             "without a realm",
		`Digest realm="r", nonce="n"`:                            "qop",
		`Digest realm="r", nonce="n", qop="auth-int"`:            "qop",
		`Digest realm="r", nonce="n", qop=auth, algorithm=SHA-1`: "unsupported Digest algorithm",
		`Digest realm="r`:                                        "unterminated",
	} {
		d := newTestDigest(t, "u", "p", "")
		_, err := d.Challenged([]string{field})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Challenged(%q) error = %v, want one mentioning %q", field, err, want)
		}
		if d.Ready() {
			t.Errorf("Challenged(%q) left the client ready to send credentials", field)
		}
	}
}

func TestQuoteAndExtValue(t *testing.T) {
	if got := quote(`a"b\c`); got != `"a\"b\\c"` {
		t.Errorf("quote = %s", got)
	}
	if got := encodeExtValue("a b'ü;!"); got != "a%20b%27%C3%BC%3B!" {
		t.Errorf("encodeExtValue = %s", got)
	}
	d := newTestDigest(t, `we"ird`, "p", "", "c")
	if _, err := d.Challenged([]string{`Digest realm="r", nonce="n", qop=auth`}); err != nil {
		t.Fatal(err)
	}
	if p := authParams(t, d.Authorization("GET", "/")); p["username*"] != "UTF-8''we%22ird" {
		t.Errorf("a name with a quote should go in username*, got %v", p)
	}
}
