package proxyauth

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// fileHandler provisions a handler over the given htpasswd files with
// watching off: the test calls reload itself. failures counts the reload
// failures reported to metrics.
func fileHandler(t *testing.T, paths ...string) (h *ProxyAuth, failures *atomic.Int64) {
	t.Helper()
	h = newTestHandler(t, &ProxyAuth{HTPasswd: paths, WatchInterval: -1})
	failures = new(atomic.Int64)
	counted := h.sources.failed
	h.sources.failed = func(f *credentialFile) {
		failures.Add(1)
		counted(f)
	}
	return h, failures
}

// users lists the user names in force.
func users(h *ProxyAuth) string {
	var names []string
	for name := range h.accounts.current().byName {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// lastError is the admin API's last_error of the file at path.
func lastError(t *testing.T, h *ProxyAuth, path string) string {
	t.Helper()
	for _, s := range h.sources.statuses() {
		if s.Path == path {
			return s.LastError
		}
	}
	t.Fatalf("no source %s", path)
	return ""
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceByRename writes content to a temporary file and renames it over
// path, as editors and configuration tools do.
func replaceByRename(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestReloadSeesEditsRenamesAndHtpasswd(t *testing.T) {
	aliceLine := "alice:" + bcryptHash(t, "pw")
	path := writeFile(t, "users", aliceLine+"\n")
	h, failures := fileHandler(t, path)

	h.sources.reload(false)
	if got := users(h); got != "alice" {
		t.Fatalf("unchanged file: users %s", got)
	}

	// Apache's htpasswd rewrites the file in place (same inode).
	htpasswd := requireTool(t, "htpasswd", "apache2-utils")
	cmd := exec.Command(htpasswd, "-i", "-B", "-C", "4", path, "bob")
	cmd.Stdin = strings.NewReader("bob-pw")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("htpasswd: %v: %s", err, out)
	}
	h.sources.reload(false)
	if got := users(h); got != "alice,bob" {
		t.Fatalf("after htpasswd added bob: users %s", got)
	}
	if got := h.verifyPassword("bob", []byte("bob-pw"), h.accounts.current()); got != outcomeAuthenticated {
		t.Fatalf("bob after reload: %v", got)
	}

	replaceByRename(t, path, "carol:"+bcryptHash(t, "pw")+"\n")
	h.sources.reload(false)
	if got := users(h); got != "carol" {
		t.Fatalf("after replace by rename: users %s", got)
	}
	if n := failures.Load(); n != 0 {
		t.Errorf("%d reload failures for good versions", n)
	}
}

func TestBadVersionKeepsLastGood(t *testing.T) {
	good := "alice:" + bcryptHash(t, "pw") + "\n"
	path := writeFile(t, "users", good)
	h, failures := fileHandler(t, path)
	before := h.accounts.current()

	write(t, path, good+"bob:plaintext\n")
	// The first look might have caught a writer at work: nothing yet.
	h.sources.reload(false)
	if lastError(t, h, path) != "" || failures.Load() != 0 {
		t.Fatalf("a bad version was reported at first sight")
	}
	// Still there and still bad at the next look: reported, once.
	for range 3 {
		h.sources.reload(false)
	}
	want := path + ":2: unrecognised password hash"
	if got := lastError(t, h, path); !strings.HasPrefix(got, want) {
		t.Errorf("last_error %q, want %q...", got, want)
	}
	if n := failures.Load(); n != 1 {
		t.Errorf("%d failures reported, want 1", n)
	}
	if h.accounts.current() != before {
		t.Error("a bad version replaced the account set")
	}

	// Fixed: loaded, and the error is gone.
	write(t, path, good+"bob:"+bcryptHash(t, "pw")+"\n")
	h.sources.reload(false)
	if got := users(h); got != "alice,bob" || lastError(t, h, path) != "" {
		t.Errorf("fixed file: users %s, last_error %q", got, lastError(t, h, path))
	}
}

func TestEmptyFileKeepsLastGood(t *testing.T) {
	path := writeFile(t, "users", "alice:"+bcryptHash(t, "pw")+"\n")
	h, failures := fileHandler(t, path)

	write(t, path, "")
	h.sources.reload(false)
	h.sources.reload(false)
	if got := users(h); got != "alice" {
		t.Errorf("emptied file: users %s", got)
	}
	if got := lastError(t, h, path); !strings.Contains(got, "the file is empty; its 1 accounts") {
		t.Errorf("last_error %q", got)
	}
	if failures.Load() != 1 {
		t.Errorf("%d failures, want 1", failures.Load())
	}
}

// A writer truncating the file and writing it again (htpasswd does) must
// not raise an alarm when a check lands in between.
func TestCheckDuringRewriteIsNoAlarm(t *testing.T) {
	good := "alice:" + bcryptHash(t, "pw") + "\n"
	path := writeFile(t, "users", good)
	h, failures := fileHandler(t, path)

	write(t, path, "") // truncated: the writer has not written yet
	h.sources.reload(false)
	write(t, path, good+"bob:"+bcryptHash(t, "pw")+"\n")
	h.sources.reload(false)
	if got := users(h); got != "alice,bob" || failures.Load() != 0 || lastError(t, h, path) != "" {
		t.Errorf("users %s, %d failures, last_error %q", got, failures.Load(), lastError(t, h, path))
	}
}

func TestDeletedOrUnreadableFileKeepsLastGood(t *testing.T) {
	path := writeFile(t, "users", "alice:"+bcryptHash(t, "pw")+"\n")
	h, failures := fileHandler(t, path)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		h.sources.reload(false)
	}
	if got := users(h); got != "alice" {
		t.Errorf("deleted file: users %s", got)
	}
	if got := lastError(t, h, path); !strings.Contains(got, path) || !strings.Contains(got, "no such file") {
		t.Errorf("last_error %q", got)
	}
	if failures.Load() != 1 {
		t.Errorf("a lasting problem was reported %d times, want once", failures.Load())
	}

	// Something that cannot be read as a file (the tests run as root, so
	// permissions would not stop them).
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	h.sources.reload(false)
	if got := lastError(t, h, path); !strings.Contains(got, "is a directory") {
		t.Errorf("unreadable: last_error %q", got)
	}
	if got := users(h); got != "alice" {
		t.Errorf("unreadable file: users %s", got)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	write(t, path, "bob:"+bcryptHash(t, "pw")+"\n")
	h.sources.reload(false)
	if got := users(h); got != "bob" || lastError(t, h, path) != "" {
		t.Errorf("file back: users %s, last_error %q", got, lastError(t, h, path))
	}
}

func TestForcedReloadReportsAtOnce(t *testing.T) {
	good := "alice:" + bcryptHash(t, "pw") + "\n"
	path := writeFile(t, "users", good)
	h, failures := fileHandler(t, path)
	loadedBefore := h.sources.statuses()[0].LastLoad

	h.sources.reload(true) // unchanged: read again, nothing to report
	if s := h.sources.statuses()[0]; s.LastError != "" || !s.LastLoad.After(loadedBefore) || s.Accounts != 1 {
		t.Errorf("forced reload of a good file: %+v", s)
	}

	write(t, path, good+"broken line\n")
	h.sources.reload(true)
	if got := lastError(t, h, path); got != path+":2: no colon between user name and password hash" {
		t.Errorf("last_error %q", got)
	}
	h.sources.reload(true)
	if failures.Load() != 2 {
		t.Errorf("%d failures for two asked-for reloads of a bad file, want 2", failures.Load())
	}
}

func TestOneBadFileDoesNotHoldBackAnother(t *testing.T) {
	a := writeFile(t, "a", "alice:"+bcryptHash(t, "pw")+"\n")
	b := writeFile(t, "b", "bob:"+bcryptHash(t, "pw")+"\n")
	h, _ := fileHandler(t, a, b)

	// b now claims alice, who is a's: b is refused, a's change goes in.
	write(t, a, "alice:"+bcryptHash(t, "pw")+"\ncarol:"+bcryptHash(t, "pw")+"\n")
	write(t, b, "bob:"+bcryptHash(t, "pw")+"\nalice:"+bcryptHash(t, "pw")+"\n")
	h.sources.reload(true)
	if got := users(h); got != "alice,bob,carol" {
		t.Errorf("users %s, want a's new version with b's old one", got)
	}
	if got, want := lastError(t, h, b), b+`:2: user "alice" is already defined at `+a+":1"; got != want {
		t.Errorf("b: last_error %q, want %q", got, want)
	}
	if got := lastError(t, h, a); got != "" {
		t.Errorf("a: last_error %q", got)
	}
}

func TestCachedVerificationStopsWhenTheFileChanges(t *testing.T) {
	counter := countBcrypt(t)
	path := writeFile(t, "users", "alice:"+bcryptHash(t, "old")+"\nbob:"+bcryptHash(t, "pw")+"\n")
	h, _ := fileHandler(t, path)
	for range 2 {
		if got := h.verifyPassword("alice", []byte("old"), h.accounts.current()); got != outcomeAuthenticated {
			t.Fatal(got)
		}
	}
	if counter.calls.Load() != 1 {
		t.Fatalf("%d comparisons, want 1 (the second login from the cache)", counter.calls.Load())
	}

	replaceByRename(t, path, "alice:"+bcryptHash(t, "new")+"\nbob:"+bcryptHash(t, "pw")+"\n")
	h.sources.reload(false)
	if got := h.verifyPassword("alice", []byte("old"), h.accounts.current()); got != outcomeWrongPassword {
		t.Errorf("old password right after the change: %v", got)
	}
	if got := h.verifyPassword("alice", []byte("new"), h.accounts.current()); got != outcomeAuthenticated {
		t.Errorf("new password: %v", got)
	}

	replaceByRename(t, path, "bob:"+bcryptHash(t, "pw")+"\n")
	h.sources.reload(false)
	if got := h.verifyPassword("alice", []byte("new"), h.accounts.current()); got != outcomeUnknownUser {
		t.Errorf("removed user right after the change: %v", got)
	}
}

// watchers counts the goroutines watching credential files, started or
// about to start (a goroutine that has not run yet shows only the wrapper
// the compiler made for the go statement, credentialSources.watch.gowrap1).
func watchers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n == len(buf) {
			buf = make([]byte, 2*len(buf)) // the dump did not fit
			continue
		}
		count := 0
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "proxyauth.(*credentialSources).watch") {
				count++
			}
		}
		return count
	}
}

func TestWatcherPicksUpChangesAndStopsOnCleanup(t *testing.T) {
	before := watchers()
	path := writeFile(t, "users", "alice:"+bcryptHash(t, "pw")+"\n")
	h := &ProxyAuth{Name: t.Name(), HTPasswd: []string{path}, WatchInterval: caddy.Duration(10 * time.Millisecond)}
	newTestHandler(t, h)
	if n := watchers() - before; n != 1 {
		t.Fatalf("%d watchers running, want 1", n)
	}

	replaceByRename(t, path, "bob:"+bcryptHash(t, "pw")+"\n")
	waitFor(t, "the watcher to load bob", func() bool { return users(h) == "bob" })

	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	// Cleanup returns once the watcher is done; the goroutine then exits.
	waitFor(t, "the watcher to exit", func() bool { return watchers() == before })
	if err := h.Cleanup(); err != nil { // Caddy may call it twice
		t.Fatal(err)
	}
}

func TestNoWatcherWithoutFilesOrWhenOff(t *testing.T) {
	before := watchers()
	newTestHandler(t, &ProxyAuth{Accounts: []Account{{Username: "a", Password: bcryptHash(t, "pw")}}})
	path := writeFile(t, "users", "alice:"+bcryptHash(t, "pw")+"\n")
	newTestHandler(t, &ProxyAuth{Name: t.Name() + "/off", HTPasswd: []string{path}, WatchInterval: -1})
	if n := watchers() - before; n != 0 {
		t.Errorf("%d watchers, want none", n)
	}
}

func TestSameFileTwiceIsAnError(t *testing.T) {
	path := writeFile(t, "users", "")
	h := &ProxyAuth{Name: t.Name(), HTPasswd: []string{path, filepath.Clean(path)}}
	_, err := h.newCredentialSources()
	if err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("error %v", err)
	}
}

// newWatchedHandler provisions a handler over the files that watches them,
// though too rarely to tick during the test.
func newWatchedHandler(t *testing.T, name string, inline []Account, paths ...string) (*ProxyAuth, error) {
	t.Helper()
	h := &ProxyAuth{Name: name, Accounts: inline, HTPasswd: paths, WatchInterval: caddy.Duration(time.Hour)}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: t.Context()})
	t.Cleanup(cancel)
	err := h.Provision(ctx)
	t.Cleanup(func() { _ = h.Cleanup() })
	return h, err
}

// A config reload that leaves the files alone takes over their last good
// versions: no second read, the same account set, and a file that broke
// in the meantime does not fail the new config.
func TestConfigReloadTakesOverTheFiles(t *testing.T) {
	good := "alice:" + bcryptHash(t, "pw") + "\n"
	path := writeFile(t, "users", good)
	old, err := newWatchedHandler(t, t.Name(), nil, path)
	if err != nil {
		t.Fatal(err)
	}

	same, err := newWatchedHandler(t, t.Name(), nil, path)
	if err != nil {
		t.Fatal(err)
	}
	if same.accounts.current() != old.accounts.current() {
		t.Error("the same files and accounts were loaded again rather than taken over")
	}

	write(t, path, good+"broken\n")
	same.sources.reload(true) // the newest: the one serving
	inline := []Account{{Username: "bob", Password: bcryptHash(t, "pw")}}
	changed, err := newWatchedHandler(t, t.Name(), inline, path)
	if err != nil {
		t.Fatalf("a config change elsewhere failed on the broken file: %v", err)
	}
	if got := users(changed); got != "alice,bob" {
		t.Errorf("users %s", got)
	}
	if got := lastError(t, changed, path); !strings.HasPrefix(got, path+":2:") {
		t.Errorf("the broken file's problem did not carry over: %q", got)
	}
	if changed.sources.files[0] == same.sources.files[0] {
		t.Error("the new handler shares the old one's file state")
	}

	// Other files, or watching off: read afresh, and the broken file fails.
	if _, err := newWatchedHandler(t, t.Name()+"/other", nil, path); err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Errorf("a new handler over the broken file: %v", err)
	}
	off := &ProxyAuth{Name: t.Name(), HTPasswd: []string{path}, WatchInterval: -1}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: t.Context()})
	defer cancel()
	if err := off.Provision(ctx); err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Errorf("with watching off the file must be read afresh: %v", err)
	}
	_ = off.Cleanup()
}
