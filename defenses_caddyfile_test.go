package proxyauth

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDefenceSubdirectivesToJSON(t *testing.T) {
	out, err := adapt(t, `http://:8080 {
	proxy_auth {
		htpasswd /x
		hosts site.example
		address_limit 5 30s 2m
		user_limit 50 10m
		limit_table_size 2048
		hash_concurrency 3
		hash_wait 500ms
		max_ips_per_user 2 1h
		probe_resistance secret.example
	}
}`)
	if err != nil {
		t.Fatal(err)
	}
	_, raw := handlersOf(t, out)
	want := `{"handler":"proxy_auth","htpasswd":["/x"],"hosts":["site.example"],` +
		`"address_limit":{"failures":5,"window":30000000000,"lockout":120000000000},` +
		`"user_limit":{"failures":50,"window":600000000000},` +
		`"limit_table_size":2048,"hash_concurrency":3,"hash_wait":500000000,` +
		`"max_ips_per_user":2,"max_ips_window":3600000000000,"probe_resistance":{"secret_host":"secret.example"}}`
	if got := normalizeJSON(t, raw[0]); got != normalizeJSON(t, json.RawMessage(want)) {
		t.Errorf("adapted handler:\n got %s\nwant %s", got, want)
	}

	out, err = adapt(t, "http://:8080 {\n\tproxy_auth {\n\t\thtpasswd /x\n\t\taddress_limit off\n\t\tuser_limit off\n\t\tprobe_resistance\n\t\tmax_ips_per_user 1\n\t}\n}")
	if err != nil {
		t.Fatal(err)
	}
	_, raw = handlersOf(t, out)
	for _, want := range []string{`"address_limit":{"disabled":true}`, `"user_limit":{"disabled":true}`, `"probe_resistance":{}`, `"max_ips_per_user":1`} {
		if !strings.Contains(string(raw[0]), want) {
			t.Errorf("adapted %s lacks %s", raw[0], want)
		}
	}
}

func TestDefenceSubdirectiveErrors(t *testing.T) {
	for _, tc := range []struct{ block, want string }{
		{"address_limit", "address_limit takes off, or <failures> <window> [<lockout>], got 0 arguments"},
		{"address_limit 10", "got 1 arguments"},
		{"address_limit 10 1m 1m 1m", "got 4 arguments"},
		{"address_limit ten 1m", `address_limit failures must be an integer between 1 and 1000, got "ten"`},
		{"address_limit 0 1m", "between 1 and 1000"},
		{"address_limit 1001 1m", "between 1 and 1000"},
		{"user_limit 10 soon", `user_limit window must be a positive duration, got "soon"`},
		{"user_limit 10 1m -5s", `user_limit lockout must be a positive duration, got "-5s"`},
		{"user_limit off now", "user_limit off takes no more arguments, got 1"},
		{"limit_table_size", "wrong argument count"},
		{"limit_table_size 8", "limit_table_size must be at least 16, got 8"},
		{"limit_table_size many", `limit_table_size must be a positive integer, got "many"`},
		{"hash_concurrency 0", `hash_concurrency must be a positive integer, got "0"`},
		{"hash_concurrency 1 2", "wrong argument count"},
		{"hash_wait", "wrong argument count"},
		{"hash_wait 0s", `hash_wait must be a positive duration, got "0s"`},
		{"max_ips_per_user", "wrong argument count"},
		{"max_ips_per_user 0", `max_ips_per_user must be an integer between 1 and 1000, got "0"`},
		{"max_ips_per_user 2 never", `max_ips_per_user window must be a positive duration, got "never"`},
		{"max_ips_per_user 2 1m x", "wrong argument count"},
		{"probe_resistance a b", "wrong argument count"},
	} {
		_, err := adapt(t, "http://:8080 {\n\tproxy_auth {\n\t\t"+tc.block+"\n\t}\n}")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Caddyfile:3") {
			t.Errorf("%q: error %v, want %q at Caddyfile:3", tc.block, err, tc.want)
		}
	}
}
