// Command caddy is Caddy with the standard modules, proxy_auth, and the
// development forward proxy dev_forward_proxy (for tests and local
// benchmarks only; production builds use forward_proxy instead).
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-proxyauth/proxyauth"
	_ "github.com/caddy-proxyauth/proxyauth/internal/devforward"
)

func main() {
	caddycmd.Main()
}
