package proxyauth

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// running lists the provisioned handlers by name, oldest first, for the
// admin API and the accounts gauge. Caddy provisions a new config before it
// cleans up the old one, and cleans up a new config that fails to start:
// so a name may have two handlers for a while, and the newest is the one
// that serves (or will, once its config starts).
var running = struct {
	sync.Mutex
	byName map[string][]*ProxyAuth
}{byName: make(map[string][]*ProxyAuth)}

// register adds a provisioned handler. Two handlers of one config may
// share a name, and so their state, only if they are configured alike
// (the same proxy_auth block in two sites): handlers that differ would mix
// their counters and show one's sources under the other's name.
func register(h *ProxyAuth) error {
	running.Lock()
	defer running.Unlock()
	for _, other := range running.byName[h.Name] {
		if other.configID == h.configID && other.fingerprint != h.fingerprint {
			return fmt.Errorf("two proxy_auth handlers with different settings share the name %q (the default name is \"realm:\" and the realm); give each its own name", h.Name)
		}
	}
	running.byName[h.Name] = append(running.byName[h.Name], h)
	return nil
}

func unregister(h *ProxyAuth) {
	running.Lock()
	defer running.Unlock()
	list := slices.DeleteFunc(running.byName[h.Name], func(other *ProxyAuth) bool { return other == h })
	if len(list) == 0 {
		delete(running.byName, h.Name)
		return
	}
	running.byName[h.Name] = list
}

// newestHandler returns the newest handler named name, or nil.
func newestHandler(name string) *ProxyAuth {
	running.Lock()
	defer running.Unlock()
	list := running.byName[name]
	if len(list) == 0 {
		return nil
	}
	return list[len(list)-1]
}

// servingHandlers returns the newest handler of each name, by name.
func servingHandlers() []*ProxyAuth {
	running.Lock()
	defer running.Unlock()
	out := make([]*ProxyAuth, 0, len(running.byName))
	for _, list := range running.byName {
		out = append(out, list[len(list)-1])
	}
	slices.SortFunc(out, func(a, b *ProxyAuth) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// settingsFingerprint is the handler's config as it affects its state and
// accounts: everything but hosts, which only says which requests reach it.
func (h *ProxyAuth) settingsFingerprint() string {
	c := *h
	c.Hosts = nil
	out, _ := json.Marshal(c) // only plain exported fields: cannot fail
	return string(out)
}
