//go:build linux

package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"

	"github.com/google/nftables/expr"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/nat"
	"golang.org/x/sys/unix"
)

// Client installs, reads and removes our tables in one network namespace.
// It is safe to keep for the life of a process, to call repeatedly and from
// several goroutines: calls take turns on its one netlink socket, whose
// replies are matched to requests by sequence number.
type Client struct {
	mu     sync.Mutex
	nsFD   int
	nsFile *os.File // opened by Open from a path; closed by Close
	log    *slog.Logger
	sock   *nfnl.Socket

	// Test hooks: beforeCommit sees (and may alter) every batch about to
	// be sent; lowerRule replaces the lowering of rules.
	beforeCommit func(*nfnl.Batch)
	lowerRule    func(r *nat.Rule, f nat.Family) []expr.Any
}

var _ interface {
	nat.Engine
	nat.Host
} = (*Client)(nil)

// Options configures a Client.
type Options struct {
	// Logger receives one line per decision; nil discards them.
	Logger *slog.Logger
}

// Open opens a netlink socket in the target namespace.
func Open(ctx context.Context, t Target, o Options) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fd, file, err := t.open()
	if err != nil {
		return nil, err
	}
	sock, err := nfnl.Open(fd)
	if err != nil {
		if file != nil {
			file.Close()
		}
		return nil, classify(nat.OpOpenSocket, err)
	}
	return &Client{nsFD: fd, nsFile: file, log: log, sock: sock}, nil
}

// Close releases the socket, and the namespace if Open opened it by path.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.sock.Close()
	if c.nsFile != nil {
		c.nsFile.Close()
		c.nsFile = nil
	}
	return err
}

// begin starts a call: the context's deadline bounds every wait for the
// kernel in it (nfnl.DefaultTimeout each without one).
func (c *Client) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	if err := c.sock.SetDeadline(deadline); err != nil {
		return classifyCtx(ctx, nat.OpRead, err)
	}
	return nil
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
func (c *Client) Apply(ctx context.Context, rs *nat.Ruleset) (nat.Outcome, error) {
	// Before the kernel: it would create a table not ours (which Remove
	// never sees), and its ENOENT for a missing set or chain would read as
	// a missing expression module.
	if err := rs.Validate(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.begin(ctx); err != nil {
		return 0, err
	}
	ours, err := c.ourTables()
	if err != nil {
		return 0, classifyCtx(ctx, nat.OpRead, err)
	}
	if len(ours) == 0 {
		b := &nfnl.Batch{}
		if err := c.addTables(b, rs, true); err != nil {
			return 0, err
		}
		err := c.commit(b, 0)
		if err == nil {
			c.log.Info("installed rules", "tables", len(rs.Tables), "rules", rs.RuleCount(), "messages", b.Len())
			return nat.Installed, nil
		}
		if !errors.Is(err, unix.EEXIST) {
			return 0, classifyCtx(ctx, nat.OpStartTransaction, err)
		}
	}
	want := rs.Listing(false) // rendered once: for large sets it costs milliseconds
	gen, _, changed, err := c.rewrite(ctx, "apply", rs, func(live *nat.Ruleset) bool { return live.Listing(false) == want })
	if err != nil {
		return 0, err
	}
	if !changed {
		c.log.Info("rules already installed and up to date; nothing changed", "generation", gen)
		return nat.Unchanged, nil
	}
	c.log.Info("replaced rules that differed from the configuration", "tables", len(rs.Tables), "rules", rs.RuleCount())
	return nat.Replaced, nil
}

// Check asks the kernel whether Apply(rs) would be accepted, and changes
// nothing: the batch Apply would send (the exclusive create in a fresh
// namespace, else the replacement of our tables) is sent without its end
// message, so the kernel processes and validates every message, reports
// any refusal, and aborts, as nft --check does.
func (c *Client) Check(ctx context.Context, rs *nat.Ruleset) error {
	if err := rs.Validate(); err != nil { // as Apply
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.begin(ctx); err != nil {
		return err
	}
	ours, err := c.ourTables()
	if err != nil {
		return classifyCtx(ctx, nat.OpRead, err)
	}
	// The batch only needs the tables' names, which the table dump gave:
	// the kernel validates and aborts it, so no snapshot of their contents
	// (every set element of them) is read.
	b := &nfnl.Batch{}
	for _, t := range ours {
		b.DelTable(t.Family, t.Name)
	}
	if err := c.addTables(b, rs, len(ours) == 0); err != nil {
		return err
	}
	if c.beforeCommit != nil {
		c.beforeCommit(b)
	}
	return classifyCtx(ctx, nat.OpStartTransaction, c.sock.Check(b, 0))
}

// rewrite reads our tables and, unless done says they are already as
// wanted, commits one batch that deletes them and creates rs's tables (none
// when rs is nil), conditional on the generation read; if someone else
// committed in between, it reads again. It returns the generation and the
// tables it read, and whether it committed.
func (c *Client) rewrite(ctx context.Context, op string, rs *nat.Ruleset, done func(live *nat.Ruleset) bool) (uint32, *nat.Ruleset, bool, error) {
	for range maxAttempts {
		gen, live, err := c.snapshot(ctx)
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
			if err := c.addTables(b, rs, false); err != nil {
				return 0, nil, false, err
			}
		}
		err = c.commit(b, gen)
		if errors.Is(err, nfnl.ErrGenerationChanged) || readBeforeCommitShowed(err, rs, live) {
			c.log.Debug("ruleset changed during "+op+"; reading it again", "generation", gen, "refused", err)
			if err := ctx.Err(); err != nil {
				return 0, nil, false, err
			}
			continue
		}
		if err != nil {
			return 0, nil, false, classifyCtx(ctx, nat.OpStartTransaction, err)
		}
		return gen, live, true, nil
	}
	return 0, nil, false, nat.NewKernelError(nat.OpStartTransaction, nat.KindConflict,
		fmt.Errorf("%s: the ruleset kept changing under us for %d attempts; another process is rewriting it", op, maxAttempts))
}

// readBeforeCommitShowed reports a conditional batch refused because the
// snapshot it was built from, though labelled with the current generation,
// showed the ruleset before the commit that made that generation: a table it
// deletes is gone (ENOENT), or a chain or set it creates is already there
// (EEXIST). The kernel makes such a read possible: a commit bumps the
// generation id before it switches the generation that dumps show, and a read
// falling between the two (the committing CPU interrupted there) sees the new
// id, in NFTA_GEN_ID and in every dump message's res_id, with the old
// objects; the generation check of our batch then passes. It was seen once
// in TestConcurrentProcessesLeaveOneCompleteConfiguration (8 processes
// racing), and reproduced as 1 in about a million reads against a writer
// committing in a loop. The batch was aborted whole, so reading again is
// right, as for a changed generation; the read it was built from was still
// one consistent ruleset, the one before that commit. An EEXIST counts only
// when the read lacked a table the batch creates: a table it showed is
// deleted first, so there it is the Ruleset naming a chain or set twice.
func readBeforeCommitShowed(err error, rs, live *nat.Ruleset) bool {
	var re *nfnl.RefusedError
	if !errors.As(err, &re) {
		return false
	}
	switch re.Msg {
	case unix.NFT_MSG_DELTABLE:
		return re.Errno == unix.ENOENT
	case unix.NFT_MSG_NEWCHAIN, unix.NFT_MSG_NEWSET:
		return re.Errno == unix.EEXIST && rs != nil && lacksTable(live, rs)
	}
	return false
}

// lacksTable reports whether live has no table of some family rs has.
func lacksTable(live, rs *nat.Ruleset) bool {
	for _, t := range rs.Tables {
		if !slices.ContainsFunc(live.Tables, func(l *nat.Table) bool { return l.Family == t.Family }) {
			return true
		}
	}
	return false
}

// ourTables lists which of our tables exist, in one small dump request.
// With none, the fresh-install batch applies; otherwise sending it would
// only be refused (EEXIST) after the kernel did, and undid, all its work.
// Tables of families the plan leaves out count too: they must go.
func (c *Client) ourTables() ([]nfnl.Table, error) {
	tables, err := c.sock.Tables()
	if err != nil {
		return nil, err
	}
	var ours []nfnl.Table
	for _, t := range tables {
		if t.Name == nat.TableName && (t.Family == uint8(nat.IPv4) || t.Family == uint8(nat.IPv6)) {
			ours = append(ours, t)
		}
	}
	return ours, nil
}

func (c *Client) commit(b *nfnl.Batch, gen uint32) error {
	if c.beforeCommit != nil {
		c.beforeCommit(b)
	}
	return c.sock.Commit(b, gen)
}

// snapshot reads our tables and the generation they belong to.
func (c *Client) snapshot(ctx context.Context) (uint32, *nat.Ruleset, error) {
	var live *nat.Ruleset
	gen, err := c.readAt(ctx, func(v *nfnl.View) (err error) {
		live, err = readLive(v)
		return err
	})
	return gen, live, err
}

// readAt runs read, several dump requests, as one consistent snapshot: the
// generation first, then every dump through a view pinned to it, which
// refuses an object written at any other generation. If someone committed
// in between, the read may mix two rulesets, or have failed because a set or
// table listed by one dump was deleted before the next (ENOENT): it is
// repeated, as often as the writer retries a refused batch.
func (c *Client) readAt(ctx context.Context, read func(v *nfnl.View) error) (uint32, error) {
	for range maxAttempts {
		gen, err := c.sock.Generation()
		if err != nil {
			return 0, classifyCtx(ctx, nat.OpRead, err)
		}
		v := c.sock.At(gen)
		err = read(v)
		stale := errors.Is(err, nfnl.ErrGenerationChanged)
		if !stale && (err != nil || v.Objects() == 0) {
			// A failed dump, or nothing dumped and so nothing checked: the
			// generation says whether the ruleset moved under us.
			now, gerr := c.sock.Generation()
			if gerr != nil {
				return 0, classifyCtx(ctx, nat.OpRead, gerr)
			}
			stale = now != gen
		}
		if stale {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			return 0, classifyCtx(ctx, nat.OpRead, err)
		}
		return gen, nil
	}
	return 0, nat.NewKernelError(nat.OpRead, nat.KindConflict,
		fmt.Errorf("read rules: the ruleset kept changing under us for %d attempts", maxAttempts))
}

// Live returns our tables as the kernel has them, with counters.
func (c *Client) Live(ctx context.Context) (*nat.Ruleset, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.begin(ctx); err != nil {
		return nil, err
	}
	_, live, err := c.snapshot(ctx)
	return live, err
}

// Remove deletes our tables, and nothing else, in one transaction. It
// reports whether there was anything to remove.
func (c *Client) Remove(ctx context.Context) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.begin(ctx); err != nil {
		return false, err
	}
	_, live, removed, err := c.rewrite(ctx, "remove", nil, func(live *nat.Ruleset) bool { return len(live.Tables) == 0 })
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

// Verify compares the live tables with the plan; the diff is empty when
// they are equal, and its String is a line diff of the two listings (-
// planned, + live).
func (c *Client) Verify(ctx context.Context, rs *nat.Ruleset) (*nat.RulesetDiff, error) {
	live, err := c.Live(ctx)
	if err != nil {
		return nil, err
	}
	return nat.Compare(rs, live), nil
}
