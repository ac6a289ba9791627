package proxyauth

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// unmarshalDefense reads the abuse-defence subdirective of proxy_auth the
// current token names, and reports whether it names one:
//
//	address_limit    off | <failures> <window> [<lockout>]   default 10 1m 1m
//	user_limit       off | <failures> <window> [<cooldown>]  default 20 5m 5m
//	limit_table_size <n>                                     default 10000
//	hash_concurrency <n>                                     default GOMAXPROCS
//	hash_wait        <duration>                              default 2s
//	max_ips_per_user <n> [<window>]                          default off, 5m
//	probe_resistance [<secret_host>]                         default off
//
// A lockout or cool-down left out is as long as the window (in JSON too).
func (h *ProxyAuth) unmarshalDefense(d *caddyfile.Dispenser) (known bool, err error) {
	name := d.Val()
	args := d.RemainingArgs()
	switch name {
	case "address_limit", "user_limit":
		limit, err := parseFailureLimit(d, name, args)
		if err != nil {
			return true, err
		}
		if name == "address_limit" {
			h.AddressLimit = limit
		} else {
			h.UserLimit = limit
		}

	case "limit_table_size":
		n, err := onePositiveInt(d, name, args)
		if err != nil {
			return true, err
		}
		if n < minLimitTableSize {
			return true, d.Errf("limit_table_size must be at least %d, got %d", minLimitTableSize, n)
		}
		h.LimitTableSize = n

	case "hash_concurrency":
		n, err := onePositiveInt(d, name, args)
		if err != nil {
			return true, err
		}
		h.HashConcurrency = n

	case "hash_wait":
		if len(args) != 1 {
			return true, d.ArgErr()
		}
		wait, err := parsePositiveDuration(d, name, args[0])
		if err != nil {
			return true, err
		}
		h.HashWait = wait

	case "max_ips_per_user":
		if len(args) < 1 || len(args) > 2 {
			return true, d.ArgErr()
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 || n > maxIPsSetting {
			return true, d.Errf("max_ips_per_user must be an integer between 1 and %d, got %q", maxIPsSetting, args[0])
		}
		h.MaxIPsPerUser = n
		if len(args) == 2 {
			window, err := parsePositiveDuration(d, "max_ips_per_user window", args[1])
			if err != nil {
				return true, err
			}
			h.MaxIPsWindow = window
		}

	case "probe_resistance":
		if len(args) > 1 {
			return true, d.ArgErr()
		}
		h.ProbeResistance = new(ProbeResistance)
		if len(args) == 1 {
			h.ProbeResistance.SecretHost = args[0]
		}

	default:
		return false, nil
	}
	return true, nil
}

// parseFailureLimit reads `off` or `<failures> <window> [<lockout>]`.
func parseFailureLimit(d *caddyfile.Dispenser, name string, args []string) (*FailureLimit, error) {
	if len(args) > 0 && args[0] == "off" {
		if len(args) > 1 {
			return nil, d.Errf("%s off takes no more arguments, got %d", name, len(args)-1)
		}
		return &FailureLimit{Disabled: true}, nil
	}
	if len(args) < 2 || len(args) > 3 {
		return nil, d.Errf("%s takes off, or <failures> <window> [<lockout>], got %d arguments", name, len(args))
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > maxFailuresSetting {
		return nil, d.Errf("%s failures must be an integer between 1 and %d, got %q", name, maxFailuresSetting, args[0])
	}
	limit := &FailureLimit{Failures: n}
	if limit.Window, err = parsePositiveDuration(d, name+" window", args[1]); err != nil {
		return nil, err
	}
	if len(args) == 3 {
		if limit.Lockout, err = parsePositiveDuration(d, name+" lockout", args[2]); err != nil {
			return nil, err
		}
	}
	return limit, nil
}

func parsePositiveDuration(d *caddyfile.Dispenser, what, arg string) (caddy.Duration, error) {
	dur, err := caddy.ParseDuration(arg)
	if err != nil || dur <= 0 {
		return 0, d.Errf("%s must be a positive duration, got %q", what, arg)
	}
	return caddy.Duration(dur), nil
}

func onePositiveInt(d *caddyfile.Dispenser, name string, args []string) (int, error) {
	if len(args) != 1 {
		return 0, d.ArgErr()
	}
	return parsePositiveInt(d, name, args[0])
}

func parsePositiveInt(d *caddyfile.Dispenser, name, arg string) (int, error) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 {
		return 0, d.Errf("%s must be a positive integer, got %q", name, arg)
	}
	return n, nil
}
