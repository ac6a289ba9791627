package proxyauth

import (
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("proxy_auth", parseCaddyfile)
	// Ahead of basic_auth, and so ahead of forward_proxy (which orders
	// itself after file_server): no `order` line needed.
	httpcaddyfile.RegisterDirectiveOrder("proxy_auth", httpcaddyfile.Before, "basic_auth")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	pa := new(ProxyAuth)
	err := pa.UnmarshalCaddyfile(h.Dispenser)
	return pa, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	proxy_auth [<matcher>] {
//	    realm          <text>
//	    user           <name> <hash>
//	    htpasswd       <path>
//	    htdigest       <path>
//	    basic
//	    digest         [<algorithm>...]
//	    nonce_lifetime <duration>
//	    hosts          <name>...
//	    cache_ttl      <duration>|off
//	    cache_size     <n>
//	    name           <text>
//	    watch_interval <duration>|off
//
//	    address_limit    off | <failures> <window> [<lockout>]
//	    user_limit       off | <failures> <window> [<cooldown>]
//	    limit_table_size <n>
//	    hash_concurrency <n>
//	    hash_wait        <duration>
//	    max_ips_per_user <n> [<window>]
//	    probe_resistance [<secret_host>]
//	}
//
// `user`, `htpasswd` and `htdigest` may be repeated; `hosts` may be
// repeated and adds names each time. `basic` and `digest` choose the
// schemes offered, in the order written (without either, Basic alone);
// `digest` takes SHA-256, SHA-512-256 and MD5 in order of preference. The
// abuse defences below `watch_interval` are described in unmarshalDefense.
func (h *ProxyAuth) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}

	for d.NextBlock(0) {
		switch d.Val() {
		case "realm":
			realm, err := oneArg(d)
			if err != nil {
				return err
			}
			if err := checkRealm(realm); err != nil {
				return d.Errf("realm: %v", err)
			}
			h.Realm = realm

		case "user":
			var name, hash string
			if !d.Args(&name, &hash) || d.NextArg() {
				return d.ArgErr()
			}
			if err := checkUsername(name); err != nil {
				return d.Errf("user: %v", err)
			}
			// A hash given by placeholder ({env.X}) is checked when provisioned.
			if !strings.Contains(strings.TrimPrefix(hash, "{SHA}"), "{") {
				if _, err := identifyHash(inlineHash(hash)); err != nil {
					return d.Errf("user %s: %v", name, err)
				}
			}
			h.Accounts = append(h.Accounts, Account{Username: name, Password: hash})

		case "htpasswd":
			path, err := oneArg(d)
			if err != nil {
				return err
			}
			h.HTPasswd = append(h.HTPasswd, path)

		case "htdigest":
			path, err := oneArg(d)
			if err != nil {
				return err
			}
			h.HTDigest = append(h.HTDigest, path)

		case "basic":
			if d.NextArg() {
				return d.ArgErr()
			}
			if err := h.addScheme(d, SchemeConfig{Scheme: schemeBasic}); err != nil {
				return err
			}

		case "digest":
			names := d.RemainingArgs()
			algos, err := parseDigestAlgorithms(names)
			if err != nil {
				return d.Err(err.Error())
			}
			c := SchemeConfig{Scheme: schemeDigest}
			for _, a := range algos {
				c.Algorithms = append(c.Algorithms, a.String())
			}
			if err := h.addScheme(d, c); err != nil {
				return err
			}

		case "nonce_lifetime":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			lifetime, err := caddy.ParseDuration(arg)
			if err != nil || lifetime < time.Second {
				return d.Errf("nonce_lifetime must be a duration of at least 1s, got %q", arg)
			}
			h.NonceLifetime = caddy.Duration(lifetime)

		case "hosts":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			h.Hosts = append(h.Hosts, args...)

		case "cache_ttl":
			ttl, err := durationOrOff(d)
			if err != nil {
				return err
			}
			h.CacheTTL = ttl

		case "cache_size":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			if h.CacheSize, err = parsePositiveInt(d, "cache_size", arg); err != nil {
				return err
			}

		case "name":
			name, err := oneArg(d)
			if err != nil {
				return err
			}
			if err := checkHandlerName(name); err != nil {
				return d.Errf("name: %v", err)
			}
			h.Name = name

		case "watch_interval":
			interval, err := durationOrOff(d)
			if err != nil {
				return err
			}
			h.WatchInterval = interval

		default:
			name := d.Val()
			known, err := h.unmarshalDefense(d)
			if err != nil {
				return err
			}
			if !known {
				return d.Errf("unrecognized subdirective %q", name)
			}
		}
	}
	return nil
}

// addScheme appends a scheme to those offered, refusing one given twice.
func (h *ProxyAuth) addScheme(d *caddyfile.Dispenser, c SchemeConfig) error {
	for _, prev := range h.Schemes {
		if prev.Scheme == c.Scheme {
			return d.Errf("%s given twice", c.Scheme)
		}
	}
	h.Schemes = append(h.Schemes, c)
	return nil
}

// oneArg reads the single argument of the current subdirective.
func oneArg(d *caddyfile.Dispenser) (string, error) {
	if !d.NextArg() {
		return "", d.ArgErr()
	}
	arg := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	return arg, nil
}

// durationOrOff reads the single argument of the current subdirective: a
// positive duration, or "off", which is -1 (the JSON form of off).
func durationOrOff(d *caddyfile.Dispenser) (caddy.Duration, error) {
	name := d.Val()
	arg, err := oneArg(d)
	if err != nil {
		return 0, err
	}
	if arg == "off" {
		return -1, nil
	}
	dur, err := caddy.ParseDuration(arg)
	if err != nil || dur <= 0 {
		return 0, d.Errf("%s must be a positive duration or off, got %q", name, arg)
	}
	return caddy.Duration(dur), nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*ProxyAuth)(nil)
