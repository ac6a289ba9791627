package clienttest

import (
	"testing"
	"time"
)

// TestNodeUndici: undici's ProxyAgent sends the token it is given with the
// first request and never answers a 407 itself. By default (proxyTunnel:
// true) it tunnels http:// requests through CONNECT too; proxyTunnel: false
// sends them in absolute-form.
func TestNodeUndici(t *testing.T) {
	node := requireNodeModules(t, "undici")
	for _, tc := range []clientCase{
		{name: "token", args: []string{"token"}, want: 200, saw: proxySaw{challenges: 0, passed: "CONNECT"}},
		{name: "token tunnel", args: []string{"token"}, tls: true, want: 200, saw: proxySaw{challenges: 0, passed: "CONNECT"}},
		{name: "token proxyTunnel false", args: []string{"token-no-tunnel"}, want: 200, saw: proxySaw{challenges: 0, passed: "GET"}},
		{name: "wrong password", args: []string{"token"}, password: "wrong", wantErr: "Proxy response (407)", saw: proxySaw{challenges: 1, wrong: 1}},
		{name: "wrong password proxyTunnel false", args: []string{"token-no-tunnel"}, password: "wrong", wantErr: "Proxy Authentication Required (407)", saw: proxySaw{challenges: 1, wrong: 1}},
		// The Basic token is refused by a Digest-only proxy, and undici
		// cannot answer its Digest challenges.
		{name: "Digest proxy", args: []string{"token"}, offer: []string{"digest"}, wantErr: "Proxy response (407)", saw: proxySaw{challenges: 1, unsupported: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runCase(t, tc, func(p *proxy, tg target) reply {
				return runScript(t, 60*time.Second, node, script("undici.mjs"), tc.args[0], p.url(), testUser, tg.password, tg.caArg(), tg.url)
			})
		})
	}
}
