package proxyauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI is the admin endpoint's view of the running proxy_auth
// handlers:
//
//	GET  /proxy_auth/        every handler's realm, schemes, sources and counters
//	POST /proxy_auth/reload  reread every credential file now
//
// It reads the handlers' state and reloads their sources; it never reaches
// into a scheme.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.proxy_auth",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Routes returns the admin routes.
func (a adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: "/proxy_auth/", Handler: caddy.AdminHandlerFunc(a.handleStatus)},
		{Pattern: "/proxy_auth/reload", Handler: caddy.AdminHandlerFunc(a.handleReload)},
	}
}

// handlerStatus is what the admin API shows of one handler.
type handlerStatus struct {
	Name     string   `json:"name"`
	Realm    string   `json:"realm"`
	Schemes  []string `json:"schemes"`
	Accounts int      `json:"accounts"`
	// Sources are the inline accounts (kind "inline") and the credential
	// files, in config order.
	Sources  []sourceStatus    `json:"sources"`
	Counters map[string]uint64 `json:"counters"`
	// CacheSize is how many verified credentials are remembered now.
	CacheSize int `json:"cache_size"`
}

// adminAnswer is the body of both routes.
type adminAnswer struct {
	Handlers []handlerStatus `json:"handlers"`
	// Error lists the sources that failed; only set by a reload.
	Error string `json:"error,omitempty"`
}

func (adminAPI) handleStatus(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Path != "/proxy_auth/" {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("no such proxy_auth endpoint: %s", r.URL.Path)}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return methodNotAllowed(w, http.MethodGet)
	}
	return writeAnswer(w, http.StatusOK, adminAnswer{Handlers: statusOf(servingHandlers())})
}

// handleReload rereads every serving handler's files. The answer is the
// state afterwards; if any file failed, the status is 500 and Error names
// each failed file and line (their last good versions stay in force).
func (adminAPI) handleReload(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return methodNotAllowed(w, http.MethodPost)
	}
	handlers := servingHandlers()
	for _, h := range handlers {
		h.sources.reload(true)
	}
	answer := adminAnswer{Handlers: statusOf(handlers)}
	var failures []string
	for _, h := range answer.Handlers {
		for _, s := range h.Sources {
			if s.LastError != "" {
				failures = append(failures, fmt.Sprintf("handler %s: %s", h.Name, s.LastError))
			}
		}
	}
	status := http.StatusOK
	if len(failures) > 0 {
		status = http.StatusInternalServerError
		answer.Error = strings.Join(failures, "; ")
	}
	return writeAnswer(w, status, answer)
}

func statusOf(handlers []*ProxyAuth) []handlerStatus {
	out := make([]handlerStatus, 0, len(handlers))
	for _, h := range handlers {
		out = append(out, h.status())
	}
	return out
}

func (h *ProxyAuth) status() handlerStatus {
	s := handlerStatus{
		Name:      h.Name,
		Realm:     h.Realm,
		Accounts:  h.accounts.current().len(),
		Sources:   h.sources.statuses(),
		Counters:  h.state.outcomes.byCategory(),
		CacheSize: h.state.cache.len(),
	}
	for _, sch := range h.schemes {
		s.Schemes = append(s.Schemes, sch.name())
	}
	return s
}

func writeAnswer(w http.ResponseWriter, status int, answer adminAnswer) error {
	body, err := json.Marshal(answer)
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(body, '\n'))
	return err
}

func methodNotAllowed(w http.ResponseWriter, allow string) error {
	w.Header().Set("Allow", allow)
	return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method not allowed; use %s", allow)}
}

// Interface guard
var _ caddy.AdminRouter = adminAPI{}
