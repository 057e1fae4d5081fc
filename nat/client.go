package nat

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/google/nftables"
	"github.com/proxy-init/netlink-native/internal/netns"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"golang.org/x/sys/unix"
)

// Client installs, reads and removes our tables in one network namespace.
// It is safe to keep for the life of a process, to call repeatedly and from
// several goroutines: calls take turns on its sockets, whose replies are
// matched to requests by sequence number.
type Client struct {
	mu   sync.Mutex
	nsFD int
	log  *slog.Logger
	sock *nfnl.Socket
	read *nftables.Conn

	// beforeCommit lets tests alter a batch just before it is sent.
	beforeCommit func(*nfnl.Batch)
}

// Options configures a Client.
type Options struct {
	// NetNSFD is an open network namespace file to act in; the process's
	// own namespace is used when it is negative. The caller keeps it open
	// for the life of the Client. Opening a socket in another namespace
	// needs CAP_SYS_ADMIN (setns) as well as CAP_NET_ADMIN.
	NetNSFD int
	// Logger receives one line per decision; nil discards them.
	Logger *slog.Logger
}

// NewClient opens a netlink socket in the namespace.
func NewClient(o Options) (*Client, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sock, err := nfnl.Open(o.NetNSFD)
	if err != nil {
		return nil, explain(err, o.NetNSFD >= 0)
	}
	return &Client{nsFD: o.NetNSFD, log: log, sock: sock}, nil
}

// Close releases the sockets.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read != nil {
		_ = c.read.CloseLasting()
	}
	return c.sock.Close()
}

// explain translates a kernel error for this client's namespace.
func (c *Client) explain(err error) error { return explain(err, c.nsFD >= 0) }

// reader opens the dump connection on first use: a fresh install never
// needs it, and it costs a socket and a thread switch into the namespace.
func (c *Client) reader() (*nftables.Conn, error) {
	if c.read != nil {
		return c.read, nil
	}
	// The socket is opened on a thread inside the namespace, like ours in
	// nfnl.Open, rather than with nftables.WithNetNSFd: that option has
	// mdlayher/socket open /proc/self/task/<tid>/ns/net to come back, and
	// fails where /proc is absent (an empty chroot).
	var conn *nftables.Conn
	err := netns.Do(c.nsFD, func() (err error) {
		conn, err = nftables.New(nftables.AsLasting())
		return err
	})
	if err != nil {
		return nil, c.explain(fmt.Errorf("open netlink socket for reading: %w", err))
	}
	c.read = conn
	return conn, nil
}

// Outcome says what Apply did.
type Outcome int

const (
	Installed Outcome = iota // the tables did not exist and were created
	Replaced                 // the tables differed and were replaced
	Unchanged                // the tables already equalled the plan
)

func (o Outcome) String() string {
	return [...]string{"installed", "replaced", "unchanged"}[o]
}

// maxAttempts bounds the retries when other writers keep changing the
// ruleset between our read and our write.
const maxAttempts = 20

// Apply makes our tables equal to the plan, in one transaction.
//
// A fresh namespace is the common case, a pod's init container: one dump
// request finds none of our tables, and one batch creates them with the
// exclusive flag (a racing writer makes the kernel refuse the whole batch
// with EEXIST). Otherwise the live tables are read; if they already equal
// the plan nothing is written, else one batch deletes and re-creates them,
// conditional on the ruleset generation read, and is retried if someone
// else committed in between.
func (c *Client) Apply(rs *Ruleset) (Outcome, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fresh, err := c.absent()
	if err != nil {
		return 0, c.explain(err)
	}
	if fresh {
		b := &nfnl.Batch{}
		rs.addTables(b, true)
		err := c.commit(b, 0)
		if err == nil {
			c.log.Info("installed rules", "tables", len(rs.Tables), "rules", rs.RuleCount(), "messages", b.Len())
			return Installed, nil
		}
		if !errors.Is(err, unix.EEXIST) {
			return 0, c.explain(err)
		}
	}
	want := rs.Listing(false) // rendered once: for large sets it costs milliseconds
	gen, _, changed, err := c.rewrite("apply", rs, func(live *Ruleset) bool { return live.Listing(false) == want })
	if err != nil {
		return 0, err
	}
	if !changed {
		c.log.Info("rules already installed and up to date; nothing changed", "generation", gen)
		return Unchanged, nil
	}
	c.log.Info("replaced rules that differed from the configuration", "tables", len(rs.Tables), "rules", rs.RuleCount())
	return Replaced, nil
}

// rewrite reads our tables and, unless done says they are already as
// wanted, commits one batch that deletes them and creates rs's tables (none
// when rs is nil), conditional on the generation read; if someone else
// committed in between, it reads again. It returns the generation and the
// tables it read, and whether it committed.
func (c *Client) rewrite(op string, rs *Ruleset, done func(live *Ruleset) bool) (uint32, *Ruleset, bool, error) {
	for range maxAttempts {
		gen, live, err := c.snapshot()
		if err != nil {
			return 0, nil, false, err
		}
		if done(live) {
			return gen, live, false, nil
		}
		b := &nfnl.Batch{}
		for _, t := range live.Tables {
			b.DelTable(uint8(t.Family), t.Name)
		}
		if rs != nil {
			rs.addTables(b, false)
		}
		err = c.commit(b, gen)
		if errors.Is(err, nfnl.ErrGenerationChanged) {
			c.log.Debug("ruleset changed during "+op+"; reading it again", "generation", gen)
			continue
		}
		if err != nil {
			return 0, nil, false, c.explain(err)
		}
		return gen, live, true, nil
	}
	return 0, nil, false, fmt.Errorf("%s: the ruleset kept changing under us for %d attempts; another process is rewriting it", op, maxAttempts)
}

// absent reports whether none of our tables exists, in one small dump
// request. Then the fresh-install batch applies; otherwise sending it would
// only be refused (EEXIST) after the kernel did, and undid, all its work.
// Tables of families the plan leaves out count too: they must go.
func (c *Client) absent() (bool, error) {
	tables, err := c.sock.Tables()
	if err != nil {
		return false, err
	}
	for _, t := range tables {
		if t.Name == TableName && (t.Family == uint8(IPv4) || t.Family == uint8(IPv6)) {
			return false, nil
		}
	}
	return true, nil
}

func (c *Client) commit(b *nfnl.Batch, gen uint32) error {
	if c.beforeCommit != nil {
		c.beforeCommit(b)
	}
	return c.sock.Commit(b, gen)
}

// snapshot reads our tables and the generation they belong to. Reading takes
// several dump requests; a generation that moved during them means the read
// may mix two rulesets, so it is repeated.
func (c *Client) snapshot() (uint32, *Ruleset, error) {
	conn, err := c.reader()
	if err != nil {
		return 0, nil, err
	}
	for range maxAttempts {
		before, err := c.sock.Generation()
		if err != nil {
			return 0, nil, c.explain(err)
		}
		live, rerr := readLive(conn, c.sock)
		after, err := c.sock.Generation()
		if err != nil {
			return 0, nil, c.explain(err)
		}
		if before != after {
			// Someone committed while we read: the read may mix two
			// rulesets, or have failed because a set or chain listed by one
			// dump request was deleted before the next one (ENOENT).
			continue
		}
		if rerr != nil {
			return 0, nil, c.explain(rerr)
		}
		return after, live, nil
	}
	return 0, nil, fmt.Errorf("read rules: the ruleset kept changing under us for %d attempts", maxAttempts)
}

// Live returns our tables as the kernel has them, with counters.
func (c *Client) Live() (*Ruleset, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, live, err := c.snapshot()
	return live, err
}

// Remove deletes our tables, and nothing else, in one transaction. It
// reports whether there was anything to remove.
func (c *Client) Remove() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, live, removed, err := c.rewrite("remove", nil, func(live *Ruleset) bool { return len(live.Tables) == 0 })
	switch {
	case err != nil:
		return false, err
	case !removed:
		c.log.Info("no proxy-init tables to remove")
	default:
		c.log.Info("removed proxy-init tables", "tables", len(live.Tables))
	}
	return removed, nil
}

// Verify compares the live tables with the plan. It returns "" when they
// are equal, else a line diff of the two listings (- planned, + live).
func (c *Client) Verify(rs *Ruleset) (string, error) {
	live, err := c.Live()
	if err != nil {
		return "", err
	}
	return Diff(rs.Listing(false), live.Listing(false)), nil
}

// IPv6Available reports whether the running kernel has IPv6. A kernel booted
// with ipv6.disable=1 has no /proc/sys/net/ipv6; where /proc is not mounted
// at all (an empty chroot) we cannot tell, and let the kernel decide.
func IPv6Available() bool { return ipv6AvailableAt("/proc") }

func ipv6AvailableAt(proc string) bool {
	// The common answer takes one lookup; /proc lookups are a measurable
	// part of a pod's start, so the second is only made to tell "no IPv6"
	// from "no /proc".
	if _, err := os.Stat(proc + "/sys/net/ipv6"); err == nil {
		return true
	}
	_, err := os.Stat(proc + "/sys/net")
	return err != nil
}
