package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/spf13/pflag"
)

// options holds the raw flag values; toConfig turns them into a nat.Config.
type options struct {
	incoming, outgoing  int
	uid, gid            int64
	redirect            []string
	redirectGiven       bool
	inIgnore, outIgnore []string
	subnets, outSubnets []string
	simulate            bool
	netns               string
	closeWait           int
	logFormat, logLevel string
	ipv6                bool
	version             bool
}

// newFlagSet declares upstream proxy-init's flags with their names, short
// forms and meanings, plus --outbound-subnets-to-ignore.
func newFlagSet(o *options) *pflag.FlagSet {
	d := nat.DefaultConfig()
	fs := pflag.NewFlagSet("proxy-init", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.IntVarP(&o.incoming, "incoming-proxy-port", "p", int(d.InboundProxyPort), "port to redirect incoming traffic to")
	fs.IntVarP(&o.outgoing, "outgoing-proxy-port", "o", int(d.OutboundProxyPort), "port to redirect outgoing traffic to")
	fs.Int64VarP(&o.uid, "proxy-uid", "u", d.ProxyUID, "uid of the proxy, whose outbound traffic is not redirected (<= 0: none)")
	fs.Int64VarP(&o.gid, "proxy-gid", "g", d.ProxyGID, "gid of the proxy, whose outbound traffic is not redirected (<= 0: none)")
	fs.VarP(&givenList{(*listValue)(&o.redirect), &o.redirectGiven}, "ports-to-redirect", "r", "redirect only these inbound ports (default: all)")
	fs.Var((*listValue)(&o.inIgnore), "inbound-ports-to-ignore", "inbound destination ports and ranges (a-b) not to redirect")
	fs.Var((*listValue)(&o.outIgnore), "outbound-ports-to-ignore", "outbound destination ports and ranges (a-b) not to redirect")
	fs.Var((*listValue)(&o.subnets), "subnets-to-ignore", "inbound source CIDRs not to redirect (IPv4 and IPv6 mixed)")
	fs.Var((*listValue)(&o.outSubnets), "outbound-subnets-to-ignore", "outbound destination CIDRs not to redirect")
	fs.BoolVar(&o.simulate, "simulate", false, "print the ruleset in nft syntax and change nothing")
	fs.StringVar(&o.netns, "netns", "", "path of the network namespace to act in (needs CAP_SYS_ADMIN besides CAP_NET_ADMIN)")
	fs.BoolP("use-wait-flag", "w", false, "accepted for compatibility; ignored (there is no xtables lock to wait for)")
	fs.IntVar(&o.closeWait, "timeout-close-wait-secs", 0, "set net.netfilter.nf_conntrack_tcp_timeout_close_wait in the namespace (0: leave it)")
	fs.StringVar(&o.logFormat, "log-format", "plain", "log format: plain or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.String("iptables-mode", "", "accepted for compatibility; ignored (rules go to nf_tables over netlink)")
	fs.BoolVar(&o.ipv6, "ipv6", d.IPv6, "program IPv6 as well as IPv4")
	fs.String("firewall-bin-path", "", "accepted for compatibility; ignored (no iptables binary is run)")
	fs.String("firewall-save-bin-path", "", "accepted for compatibility; ignored (no iptables-save binary is run)")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	return fs
}

// noteIgnoredFlags logs, once each, the upstream flags that mean nothing
// here, with the reason their usage text gives.
func noteIgnoredFlags(fs *pflag.FlagSet, log *slog.Logger) {
	for _, name := range []string{"iptables-mode", "firewall-bin-path", "firewall-save-bin-path", "use-wait-flag"} {
		if fs.Changed(name) {
			log.Info("ignoring flag", "flag", "--"+name, "reason", fs.Lookup(name).Usage)
		}
	}
}

// listValue is a repeatable, comma-separated list flag that reads its values
// as CSV, as pflag's StringSlice does, for every list we take: ports, ranges,
// CIDRs. StringSlice formats each flag's default through an
// encoding/csv writer when the flag is declared, a 4 KiB buffer apiece,
// which made declaring the flags a twentieth of a small install's time; so
// plain values are split here directly, and only a value with quotes or line
// breaks (a list pasted from a YAML block, ending in a newline) goes through
// the CSV reader. Unlike StringSlice, which keeps the first line only and
// drops the rest without a word, every line of such a value counts.
// An empty value adds nothing, as with StringSlice.
type listValue []string

func (l *listValue) Set(v string) error {
	if !strings.ContainsAny(v, "\"\r\n") {
		*l = append(*l, nat.SplitList(v)...)
		return nil
	}
	r := csv.NewReader(strings.NewReader(v))
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	if err != nil {
		return err
	}
	for _, rec := range records {
		*l = append(*l, rec...)
	}
	return nil
}

func (l *listValue) String() string { return strings.Join(*l, ",") }

// givenList is a listValue that records that the flag was given, even with
// a value that holds no item (-r ""): for --ports-to-redirect an empty list
// means "every port", so an empty value must not pass for an absent flag.
type givenList struct {
	*listValue
	given *bool
}

func (g *givenList) Set(v string) error {
	*g.given = true
	return g.listValue.Set(v)
}

// Type names the value in --help, as StringSlice does.
func (l *listValue) Type() string { return "strings" }

// toConfig parses the list flags and range-checks the numbers. Errors are
// *nat.ConfigError naming the flag and the offending value; the rules that
// span flags are checked by nat.Plan.
func (o *options) toConfig() (nat.Config, error) {
	c := nat.Config{ProxyUID: o.uid, ProxyGID: o.gid, IPv6: o.ipv6}
	var err error
	if c.InboundProxyPort, err = port("--incoming-proxy-port", o.incoming); err != nil {
		return c, err
	}
	if c.OutboundProxyPort, err = port("--outgoing-proxy-port", o.outgoing); err != nil {
		return c, err
	}
	// Any uid or gid <= 0 means no exception, as upstream's "> 0" test
	// makes it; the largest is checked by nat.Validate.

	// The kernel stores the timeout in jiffies in an int: beyond this many
	// seconds it refuses the write (EINVAL) at HZ=1000, after our rules are
	// installed, so the value is refused here, before anything changes.
	const maxCloseWait = math.MaxInt32 / 1000
	if o.closeWait < 0 || o.closeWait > maxCloseWait {
		return c, &nat.ConfigError{Name: "--timeout-close-wait-secs", Value: fmt.Sprint(o.closeWait), Reason: fmt.Sprintf("must be between 0 and %d seconds", maxCloseWait)}
	}
	for _, l := range []struct {
		flag  string
		items []string
		dst   *[]nat.PortRange
	}{
		{"--ports-to-redirect", o.redirect, &c.PortsToRedirect},
		{"--inbound-ports-to-ignore", o.inIgnore, &c.InboundPortsToIgnore},
		{"--outbound-ports-to-ignore", o.outIgnore, &c.OutboundPortsToIgnore},
	} {
		if *l.dst, err = listItems(l.flag, l.items, nat.ParsePortRange); err != nil {
			return c, err
		}
	}
	// Upstream's int list refuses -r "" and -r ",": it never reads them as
	// "all ports", which is what an empty list means to the plan.
	if o.redirectGiven && len(c.PortsToRedirect) == 0 {
		return c, &nat.ConfigError{Name: "--ports-to-redirect", Value: strings.Join(o.redirect, ","),
			Reason: "lists no port; leave the flag out to redirect every inbound port"}
	}
	if c.InboundSubnetsToIgnore, err = listItems("--subnets-to-ignore", o.subnets, nat.ParsePrefix); err != nil {
		return c, err
	}
	c.OutboundSubnetsToIgnore, err = listItems("--outbound-subnets-to-ignore", o.outSubnets, nat.ParsePrefix)
	return c, err
}

func port(flag string, v int) (uint16, error) {
	if v < 1 || v > 65535 {
		return 0, &nat.ConfigError{Name: flag, Value: fmt.Sprint(v), Reason: "must be a port between 1 and 65535"}
	}
	return uint16(v), nil
}

// listItems parses the items of a repeatable, comma-separated flag with
// nat.ParseList (the one list-item parser) and names the flag in its error.
func listItems[T any](flag string, items []string, parse func(string) (T, error)) ([]T, error) {
	out, err := nat.ParseList(items, parse)
	var ie *nat.ListItemError
	if errors.As(err, &ie) {
		return nil, &nat.ConfigError{Name: flag, Value: ie.Item, Reason: ie.Err.Error(), Err: err}
	}
	return out, err
}

// flagName is the flag of each setting nat and nat/pod name by its
// nat.Field in a *nat.ConfigError: fail names it so before printing.
var flagName = map[nat.Field]string{
	nat.FieldInboundProxyPort:        "--incoming-proxy-port",
	nat.FieldOutboundProxyPort:       "--outgoing-proxy-port",
	nat.FieldProxyUID:                "--proxy-uid",
	nat.FieldProxyGID:                "--proxy-gid",
	nat.FieldPortsToRedirect:         "--ports-to-redirect",
	nat.FieldInboundPortsToIgnore:    "--inbound-ports-to-ignore",
	nat.FieldOutboundPortsToIgnore:   "--outbound-ports-to-ignore",
	nat.FieldInboundSubnetsToIgnore:  "--subnets-to-ignore",
	nat.FieldOutboundSubnetsToIgnore: "--outbound-subnets-to-ignore",
	nat.FieldNetNS:                   "--netns",
	nat.FieldCloseWaitSecs:           "--timeout-close-wait-secs",
}
