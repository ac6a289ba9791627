package proxyauth

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func adapt(t *testing.T, input string) (string, error) {
	t.Helper()
	adapter := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}
	out, _, err := adapter.Adapt([]byte(input), map[string]any{"filename": "Caddyfile"})
	return string(out), err
}

// handlersOf lists the handler names of the first route of srv0, in order.
func handlersOf(t *testing.T, adapted string) ([]string, []json.RawMessage) {
	t.Helper()
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []json.RawMessage `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal([]byte(adapted), &cfg); err != nil {
		t.Fatal(err)
	}
	var names []string
	var raw []json.RawMessage
	for _, h := range cfg.Apps.HTTP.Servers["srv0"].Routes[0].Handle {
		var named struct {
			Handler string `json:"handler"`
		}
		_ = json.Unmarshal(h, &named)
		names = append(names, named.Handler)
		raw = append(raw, h)
	}
	return names, raw
}

func TestCaddyfileToJSON(t *testing.T) {
	// The site lists the directives in the "wrong" order on purpose: the
	// registered order must put proxy_auth first without an order line.
	out, err := adapt(t, `http://:8080 {
	dev_forward_proxy
	basic_auth {
		bob $2a$14$X3ulqf/iGxnf1k6oMZ.RZeJUoqI9PX2PM4rS5lkIKJXduLGXGPrt6
	}
	proxy_auth {
		realm "Team proxy"
		user alice $2a$14$X3ulqf/iGxnf1k6oMZ.RZeJUoqI9PX2PM4rS5lkIKJXduLGXGPrt6
		htpasswd /etc/caddy/users.htpasswd
		htpasswd /etc/caddy/more.htpasswd
		hosts proxy.example.com
		hosts www.example.com
		cache_ttl 10m
		cache_size 500
		name team
		watch_interval 30s
	}
}`)
	if err != nil {
		t.Fatal(err)
	}
	names, raw := handlersOf(t, out)
	if strings.Join(names, ",") != "proxy_auth,authentication,dev_forward_proxy" {
		t.Fatalf("handler order %v", names)
	}
	want := `{"accounts":[{"username":"alice","password":"$2a$14$X3ulqf/iGxnf1k6oMZ.RZeJUoqI9PX2PM4rS5lkIKJXduLGXGPrt6"}],` +
		`"cache_size":500,"cache_ttl":600000000000,"handler":"proxy_auth",` +
		`"hosts":["proxy.example.com","www.example.com"],"htpasswd":["/etc/caddy/users.htpasswd","/etc/caddy/more.htpasswd"],` +
		`"name":"team","realm":"Team proxy","watch_interval":30000000000}`
	if got := normalizeJSON(t, raw[0]); got != normalizeJSON(t, json.RawMessage(want)) {
		t.Errorf("adapted handler:\n got %s\nwant %s", got, want)
	}

	out, err = adapt(t, "http://:8080 {\n\tproxy_auth {\n\t\tcache_ttl off\n\t\twatch_interval off\n\t\thtpasswd /x\n\t}\n}")
	if err != nil {
		t.Fatal(err)
	}
	if _, raw := handlersOf(t, out); !strings.Contains(string(raw[0]), `"cache_ttl":-1`) || !strings.Contains(string(raw[0]), `"watch_interval":-1`) {
		t.Errorf("cache_ttl off, watch_interval off adapted to %s", raw[0])
	}
}

func normalizeJSON(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestCaddyfileErrors(t *testing.T) {
	hash := "$2a$14$X3ulqf/iGxnf1k6oMZ.RZeJUoqI9PX2PM4rS5lkIKJXduLGXGPrt6"
	for _, tc := range []struct{ block, want string }{
		{"realm", "wrong argument count"},
		{"realm a b", "wrong argument count"},
		{"user alice", "wrong argument count"},
		{"user alice " + hash + " extra", "wrong argument count"},
		{"user a:b " + hash, "contains a colon"},
		{"user alice plaintext", "unrecognised password hash"},
		{"htpasswd", "wrong argument count"},
		{"hosts", "wrong argument count"},
		{"cache_ttl 0s", "cache_ttl must be a positive duration"},
		{"cache_ttl soon", "cache_ttl must be a positive duration"},
		{"cache_size -3", "cache_size must be a positive integer"},
		{"name", "wrong argument count"},
		{"name \"a\tb\"", "control character"},
		{"watch_interval", "wrong argument count"},
		{"watch_interval 0s", "watch_interval must be a positive duration or off"},
		{"watch_interval often", "watch_interval must be a positive duration or off"},
		{"passwd x", `unrecognized subdirective "passwd"`},
	} {
		_, err := adapt(t, "http://:8080 {\n\tproxy_auth {\n\t\t"+tc.block+"\n\t}\n}")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Caddyfile:3") {
			t.Errorf("%q: error %v, want %q at Caddyfile:3", tc.block, err, tc.want)
		}
	}
	if _, err := adapt(t, "http://:8080 {\n\tproxy_auth extra {\n\t}\n}"); err == nil {
		t.Error("an argument after proxy_auth was accepted")
	}
	// A placeholder hash is checked at provision time, not here.
	if _, err := adapt(t, "http://:8080 {\n\tproxy_auth {\n\t\tuser alice {env.ALICE_HASH}\n\t}\n}"); err != nil {
		t.Errorf("placeholder hash: %v", err)
	}
}

// TestExampleCaddyfile keeps the README's main job true: the example
// adapts, and proxy_auth runs before the forwarder.
func TestExampleCaddyfile(t *testing.T) {
	data, err := os.ReadFile("examples/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	out, err := adapt(t, string(data))
	if err != nil {
		t.Fatal(err)
	}
	names, _ := handlersOf(t, out)
	if strings.Join(names, ",") != "proxy_auth,dev_forward_proxy" {
		t.Errorf("examples/Caddyfile handlers: %v", names)
	}
	if !strings.Contains(out, `"listen":["127.0.0.1:8080"]`) {
		t.Errorf("examples/Caddyfile does not listen on 127.0.0.1:8080 only: %s", out)
	}
}
