package proxyauth

// Credential sources: the inline accounts and the credential files of one
// handler, each file with the last version of it that loaded. The account
// set in force is always built from those last good versions, so a file
// that breaks while the server runs changes nothing until it is fixed.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
)

// sourceKind is one format of credential file. Another format is another
// sourceKind: a name (shown by the admin API and in metrics) and a parser.
type sourceKind struct {
	name string
	// parse adds every account in data, the content of the file at path,
	// to b as source src, and returns how many it added. Errors are
	// "path:line: message" and never quote a hash.
	parse func(b *accountSetBuilder, src uint16, path, data string) (int, error)
}

var htpasswdKind = &sourceKind{name: "htpasswd", parse: func(b *accountSetBuilder, src uint16, path, data string) (int, error) {
	n := 0
	err := parseHTPasswd(path, data, func(line int, user, hash string) error {
		if err := b.addPassword(user, hash, src, line); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}}

var htdigestKind = &sourceKind{name: "htdigest", parse: func(b *accountSetBuilder, src uint16, path, data string) (int, error) {
	users := 0 // a user has a line per algorithm: count users, not lines
	err := parseHTDigest(path, data, func(line int, e htdigestEntry) error {
		first, err := b.addDigest(e, src, line)
		if first {
			users++
		}
		return err
	})
	return users, err
}}

// inlineKind names the accounts written in the config.
const inlineKind = "inline"

// racyWindow: a file modified this recently is read again at the next
// check even if its size and time look unchanged, because a file system
// with coarse timestamps could hide a second change within the same tick.
const racyWindow = 2 * time.Second

// credentialSources are a handler's accounts: where they come from, the set
// built from them, and the reloading of files that change.
type credentialSources struct {
	handler string
	realm   string // of every htdigest entry, and of Basic's H(A1) checks
	store   *accountStore
	logger  *zap.Logger
	// failed is told about every version of a file that could not be
	// loaded (for the reload-failures metric); it may be nil.
	failed func(f *credentialFile)
	// checkSet is what the schemes ask of every account set (Digest: an
	// H(A1) of each offered algorithm for every account); a reloaded file
	// whose set fails it is not taken. It may be nil.
	checkSet func(*accountSet) error

	inline       []Account // placeholders already replaced
	inlineLoaded time.Time
	files        []*credentialFile

	mu sync.Mutex // one load at a time; guards the files' fields
	// published is the sources' status as of the last load, so the admin
	// API and metrics never wait for a reload of a large file.
	published atomic.Pointer[[]sourceStatus]

	stop    chan struct{}
	stopped chan struct{}
}

// credentialFile is one credential file and what is known of it.
type credentialFile struct {
	kind *sourceKind
	path string

	content  string // the last good version, in force
	accounts int    // accounts in content
	loaded   time.Time

	// seen is the version whose content was last judged, good or bad; nil
	// means read the file at the next check whatever its stat says, as
	// after a version too fresh to trust its timestamp (racyWindow).
	seen os.FileInfo
	// suspect is the error of a bad version seen once. A version is only
	// reported bad when it is still there and still bad at the next check,
	// so a poll that lands in the middle of a writer's work (htpasswd
	// rewrites its file in place) does not raise a false alarm.
	suspect string
	// reported is why the file's current version is not in force, as last
	// logged; empty when it is in force. A lasting problem (a deleted
	// file, checked every interval) is logged once.
	reported string
}

// sourceStatus is what the admin API shows of one source.
type sourceStatus struct {
	Kind      string    `json:"kind"`
	Path      string    `json:"path,omitempty"`
	Accounts  int       `json:"accounts"`
	LastLoad  time.Time `json:"last_load"`
	LastError string    `json:"last_error,omitempty"`
}

// newCredentialSources reads the handler's accounts from its config. A
// problem in any of them is an error naming the account or file and line:
// a config does not load with a broken source.
func (h *ProxyAuth) newCredentialSources() (*credentialSources, error) {
	c := &credentialSources{handler: h.Name, realm: h.Realm, logger: h.logger}
	repl := caddy.NewReplacer()
	for _, acct := range h.Accounts {
		c.inline = append(c.inline, Account{
			Username: repl.ReplaceKnown(acct.Username, ""),
			Password: inlineHash(repl.ReplaceKnown(acct.Password, "")),
		})
	}
	if err := c.addFiles(htpasswdKind, h.HTPasswd, repl); err != nil {
		return nil, err
	}
	if err := c.addFiles(htdigestKind, h.HTDigest, repl); err != nil {
		return nil, err
	}
	if h.WatchInterval > 0 {
		if prev := newestHandler(h.Name); prev != nil && prev.WatchInterval > 0 && c.takeOver(prev.sources) {
			return c, nil
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	contents := make(map[*credentialFile]string, len(c.files))
	for _, f := range c.files {
		content, info, err := readContent(f.path)
		if err != nil {
			return nil, fmt.Errorf("reading %s file: %v", f.kind.name, err)
		}
		contents[f], f.seen, f.loaded = content, trusted(info, now), now
	}
	set, counts, _, err := c.build(contents)
	if err != nil {
		return nil, err
	}
	for f, content := range contents {
		f.content, f.accounts = content, counts[f]
	}
	c.inlineLoaded = now
	c.store = newAccountStore(set)
	c.publish()
	c.warnMixedCosts(set)
	return c, nil
}

// takeOver starts from prev's files if they are the same files, as when a
// config reload changes something else: their last good versions carry
// over instead of being read and parsed again (a second copy of a large
// file for the length of the reload), and a file that broke since it was
// loaded keeps its last good version and its reported problem rather than
// failing the new config. The watcher catches up with any change within an
// interval, as it would have anyway. It reports false, having changed
// nothing, if the files differ or the set cannot be built (the caller then
// loads afresh and reports the error).
func (c *credentialSources) takeOver(prev *credentialSources) bool {
	if len(prev.files) != len(c.files) || prev.realm != c.realm {
		return false // H(A1) values are checked against the realm
	}
	for i, f := range c.files {
		if p := prev.files[i]; p.kind != f.kind || p.path != f.path {
			return false
		}
	}
	prev.mu.Lock()
	defer prev.mu.Unlock()
	files := make([]*credentialFile, len(prev.files))
	for i, p := range prev.files {
		copied := *p
		files[i] = &copied
	}
	ours := c.files
	c.files, c.inlineLoaded = files, prev.inlineLoaded
	if slices.Equal(c.inline, prev.inline) {
		c.store = newAccountStore(prev.store.current()) // the very same set
	} else {
		set, _, _, err := c.build(nil)
		if err != nil {
			c.files = ours
			return false
		}
		c.store, c.inlineLoaded = newAccountStore(set), time.Now()
	}
	c.publish()
	return true
}

// addFiles adds credential files of one kind, refusing a path given twice
// (its accounts would all be duplicates, and its metrics ambiguous).
func (c *credentialSources) addFiles(kind *sourceKind, paths []string, repl *caddy.Replacer) error {
	for _, path := range paths {
		path = repl.ReplaceKnown(path, "")
		for _, f := range c.files {
			if f.path == path {
				return fmt.Errorf("%s file %s is listed twice", kind.name, path)
			}
		}
		c.files = append(c.files, &credentialFile{kind: kind, path: path})
	}
	return nil
}

// build makes an account set from the inline accounts and every file's
// content: the one in changed if the file is there, else its last good
// content. Unchanged files go first: they were part of a good set before,
// so an error can only come from a changed file, which is returned as
// failed. counts are the accounts per file.
func (c *credentialSources) build(changed map[*credentialFile]string) (set *accountSet, counts map[*credentialFile]int, failed *credentialFile, err error) {
	size := len(c.inline)
	for _, f := range c.files {
		content, ok := changed[f]
		if !ok {
			content = f.content
		}
		size += strings.Count(content, "\n") + 1
	}
	b := newSizedAccountSetBuilder(size)
	b.set.digest.realm = c.realm
	if len(c.inline) > 0 {
		src := b.source(inlineSource)
		for i, acct := range c.inline {
			if err := b.addPassword(acct.Username, acct.Password, src, i+1); err != nil {
				return nil, nil, nil, fmt.Errorf("account %d: %v", i+1, err)
			}
		}
	}
	// Source numbers follow the config's order whatever the parse order.
	srcs := make([]uint16, len(c.files))
	for i, f := range c.files {
		srcs[i] = b.source(f.path)
	}
	counts = make(map[*credentialFile]int, len(c.files))
	for _, pass := range []bool{false, true} {
		for i, f := range c.files {
			content, isChanged := changed[f]
			if isChanged != pass {
				continue
			}
			if !isChanged {
				content = f.content
			}
			n, err := f.kind.parse(b, srcs[i], f.path, content)
			if err != nil {
				return nil, nil, f, err
			}
			counts[f] = n
		}
	}
	set = b.finish()
	if c.checkSet != nil {
		if err := c.checkSet(set); err != nil {
			return nil, nil, c.blame(changed, srcs, err), err
		}
	}
	return set, counts, nil, nil
}

// blame picks the changed file to hold responsible for a set that failed
// the schemes' check: the one defining the account the check names, else
// any changed file (each was fine before it changed).
func (c *credentialSources) blame(changed map[*credentialFile]string, srcs []uint16, err error) *credentialFile {
	var failed *credentialFile
	var ae *accountError
	for i, f := range c.files {
		if _, ok := changed[f]; !ok {
			continue
		}
		if errors.As(err, &ae) && ae.source == srcs[i] {
			return f
		}
		failed = f
	}
	return failed
}

// reload checks every file (reads all of them if force) and swaps in a new
// account set if any changed file is good. A file that cannot be read,
// became empty, or has a bad line keeps its last good version in force;
// the problem is logged once, naming the file and line, and shown by the
// admin API until a good version replaces it.
func (c *credentialSources) reload(force bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.publish()
	now := time.Now()
	changed := make(map[*credentialFile]string)
	for _, f := range c.files {
		if content, ok := c.check(f, force, now); ok {
			changed[f] = content
		}
	}
	for len(changed) > 0 {
		began := time.Now()
		set, counts, failed, err := c.build(changed)
		if err != nil {
			if failed == nil { // inline accounts: they loaded with the config
				c.logger.Error("rebuilding accounts", zap.String("handler", c.handler), zap.Error(err))
				return
			}
			delete(changed, failed)
			c.contentProblem(failed, err, force)
			continue
		}
		c.store.set.Store(set)
		c.warnMixedCosts(set)
		for f, content := range changed {
			f.content, f.accounts, f.loaded = content, counts[f], now
			c.succeed(f)
			c.logger.Info("credential file reloaded",
				zap.String("handler", c.handler), zap.String("file", f.path),
				zap.Int("accounts", f.accounts), zap.Int("total_accounts", set.len()),
				zap.Duration("took", time.Since(began)))
		}
		if set.len() == 0 {
			c.logger.Warn("no accounts left: every request will be refused", zap.String("handler", c.handler))
		}
		return
	}
}

// check looks at one file and returns its content if it changed and is
// worth building a set from.
func (c *credentialSources) check(f *credentialFile, force bool, now time.Time) (string, bool) {
	info, err := os.Stat(f.path)
	if err != nil {
		c.accessProblem(f, err, force)
		return "", false
	}
	if !force && f.seen != nil && sameVersion(f.seen, info) {
		return "", false
	}
	content, info, err := readContent(f.path)
	if errors.Is(err, errChanging) {
		f.seen = nil // being written: look again next time
		return "", false
	}
	if err != nil {
		c.accessProblem(f, err, force)
		return "", false
	}
	f.seen = trusted(info, now)

	if content == f.content {
		if f.reported != "" || f.suspect != "" {
			c.succeed(f) // back to the version in force
		}
		if force {
			f.loaded = now
		}
		return "", false
	}
	if strings.TrimSpace(content) == "" && f.accounts > 0 {
		c.contentProblem(f, fmt.Errorf("%s: the file is empty; its %d accounts from the last good version stay in force", f.path, f.accounts), force)
		return "", false
	}
	return content, true
}

// accessProblem records that f cannot be found or read now; it is tried
// again at every check.
func (c *credentialSources) accessProblem(f *credentialFile, err error, force bool) {
	f.seen, f.suspect = nil, ""
	c.report(f, err, force)
}

// contentProblem records that the version of f just read cannot be used.
// Unless the reload was asked for, a new problem is only reported when the
// next check finds the same problem again: a check that lands while a
// writer is at work (htpasswd rewrites its file in place) sees an empty or
// cut-off file, and that is no reason to raise an alarm.
func (c *credentialSources) contentProblem(f *credentialFile, err error, force bool) {
	msg := err.Error()
	if !force && msg != f.suspect && msg != f.reported {
		f.suspect = msg
		f.seen = nil // read it again at the next check
		return
	}
	f.suspect = ""
	c.report(f, err, force)
}

// report makes err f's problem, logging and counting it when it is new or
// when the reload was asked for.
func (c *credentialSources) report(f *credentialFile, err error, force bool) {
	msg := err.Error()
	if !force && msg == f.reported {
		return
	}
	f.reported = msg
	c.logger.Error("credential file not reloaded: its last good version stays in force",
		zap.String("handler", c.handler), zap.String("file", f.path), zap.Error(err))
	if c.failed != nil {
		c.failed(f)
	}
}

func (c *credentialSources) succeed(f *credentialFile) {
	if f.reported != "" {
		c.logger.Info("credential file loads again", zap.String("handler", c.handler), zap.String("file", f.path))
	}
	f.reported, f.suspect = "", ""
}

// statuses describes every source as of the last load, inline accounts
// first.
func (c *credentialSources) statuses() []sourceStatus {
	return *c.published.Load()
}

// publish makes the files' current state what statuses shows; c.mu is
// held.
func (c *credentialSources) publish() {
	out := make([]sourceStatus, 0, len(c.files)+1)
	if len(c.inline) > 0 {
		out = append(out, sourceStatus{Kind: inlineKind, Accounts: len(c.inline), LastLoad: c.inlineLoaded})
	}
	for _, f := range c.files {
		s := sourceStatus{Kind: f.kind.name, Path: f.path, Accounts: f.accounts, LastLoad: f.loaded}
		s.LastError = f.reported
		out = append(out, s)
	}
	c.published.Store(&out)
}

// watch checks the files for changes every interval until close.
func (c *credentialSources) watch(interval time.Duration) {
	if interval <= 0 || len(c.files) == 0 {
		return
	}
	c.stop, c.stopped = make(chan struct{}), make(chan struct{})
	go c.watchLoop(interval, c.stop, c.stopped)
}

func (c *credentialSources) watchLoop(interval time.Duration, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			c.reload(false)
		}
	}
}

// close stops the watcher and waits for it to finish; it is safe to call
// more than once.
func (c *credentialSources) close() {
	if c == nil || c.stop == nil {
		return
	}
	close(c.stop)
	<-c.stopped
	c.stop = nil
}

// errChanging says a file changed while it was read.
var errChanging = errors.New("file changed while being read")

// readContent reads a whole file into one string without a second copy:
// the accounts parsed from it are substrings of it, so a large file costs
// its size once. It returns the version it read, and errChanging if the
// file changed while it was read.
func readContent(path string) (string, os.FileInfo, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer file.Close()
	before, err := file.Stat()
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	if size := before.Size(); size > 0 && size < 1<<40 {
		b.Grow(int(size) + 1) // +1: io.Copy reads once more to see EOF
	}
	if _, err := io.Copy(&b, file); err != nil {
		return "", nil, err // an *fs.PathError: it names the file
	}
	after, err := file.Stat()
	if err != nil {
		return "", nil, err
	}
	if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		return "", nil, errChanging
	}
	return b.String(), after, nil
}

// sameVersion reports whether two stats are of the same file, unchanged: a
// file replaced by rename (as editors and tools do) is another file.
func sameVersion(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// trusted is info, or nil when the file was modified too recently for its
// stat to show a second change within the same timestamp tick
// (racyWindow): a nil seen has the file read again at the next check.
func trusted(info os.FileInfo, now time.Time) os.FileInfo {
	if now.Sub(info.ModTime()) < racyWindow {
		return nil
	}
	return info
}

// warnMixedCosts says when the accounts use password hashes of more than one
// cost: an unknown name is checked against a hash of the commonest kind, so
// the time of a refusal tells names whose hash is cheaper or dearer apart
// from unknown ones (docs/security.md, Timing).
func (c *credentialSources) warnMixedCosts(set *accountSet) {
	if set.costClasses > 1 {
		c.logger.Warn("accounts use password hashes of different algorithms or costs: the time of a refusal can tell an unknown user name from one whose hash costs more or less than most; rehash them alike to close that",
			zap.String("handler", c.handler), zap.Int("kinds", set.costClasses))
	}
}
