package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/proxy-init/netlink-native/internal/validator"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/spf13/pflag"
)

// exitNotValidated is upstream's linkerd-network-validator code for every
// failure, timeout and signal (95, EOPNOTSUPP); Linkerd's CNI repair
// controller looks for it.
const exitNotValidated = 95

// Environment variables upstream reads for the log flags when they are not
// given.
const (
	envValidatorLogLevel  = "LINKERD_NETWORK_VALIDATOR_LOG_LEVEL"
	envValidatorLogFormat = "LINKERD_NETWORK_VALIDATOR_LOG_FORMAT"
)

const validateUsageHead = `Usage: proxy-init validate [flags]

Checks that this pod's outbound TCP is redirected to the proxy: listens on
--listen-addr, connects to --connect-addr, and requires to read back its own
random token. Exit 0 when validated; 95 when not, on timeout or on SIGTERM or
SIGINT; 2 on bad flags. Needs no capabilities; run it as an ordinary uid
(not the proxy's --proxy-uid, whose traffic is exempt).

Flags:
`

// validateOptions are the raw flag values of `proxy-init validate`.
type validateOptions struct {
	listen, connect, timeout string
	logLevel, logFormat      string
	version                  bool
}

func newValidateFlagSet(o *validateOptions) *pflag.FlagSet {
	fs := pflag.NewFlagSet("proxy-init validate", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVar(&o.listen, "listen-addr", validator.DefaultListen.String(), "address redirected connections must arrive at: the proxy's outbound port")
	fs.StringVar(&o.connect, "connect-addr", validator.DefaultConnect.String(), "address to connect to; any address the rules redirect and nothing answers")
	fs.StringVar(&o.timeout, "timeout", "10s", "give up after this long (units ms, s, m, h, d, or a Go duration)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error (env "+envValidatorLogLevel+")")
	fs.StringVar(&o.logFormat, "log-format", "plain", "log format: plain or json (env "+envValidatorLogFormat+")")
	fs.BoolVarP(&o.version, "version", "V", false, "print the version")
	return fs
}

// runValidate is `proxy-init validate`: flags -> validator.Run -> one line.
func runValidate(args []string, stdout, stderr io.Writer) int {
	var o validateOptions
	fs := newValidateFlagSet(&o)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	usage := func(err error) int {
		fmt.Fprintf(stderr, "proxy-init validate: %v\n", err)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, validateUsageHead+fs.FlagUsages())
			return exitOK
		}
		return usage(err)
	}
	if fs.NArg() > 0 {
		return usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if o.version {
		return runVersion(&env{stdout: stdout})
	}
	// As upstream (clap's env): a flag given wins over the variable.
	levelFrom, formatFrom := "--log-level", "--log-format"
	if v, ok := os.LookupEnv(envValidatorLogLevel); ok && !fs.Changed("log-level") {
		o.logLevel, levelFrom = v, envValidatorLogLevel
	}
	if v, ok := os.LookupEnv(envValidatorLogFormat); ok && !fs.Changed("log-format") {
		o.logFormat, formatFrom = v, envValidatorLogFormat
	}
	// Upstream's validator refuses an unknown format (proxy-init's logrus
	// falls back to text; clap's enum does not), and so do we.
	if o.logFormat != "plain" && o.logFormat != "json" {
		return usage(&nat.ConfigError{Name: formatFrom, Value: o.logFormat, Reason: "must be plain or json"})
	}
	log, warn, err := newLogger(stderr, o.logFormat, validatorLevel(o.logLevel))
	if err != nil {
		// newLogger names the flag; the value may have come from the
		// environment instead.
		var ce *nat.ConfigError
		if errors.As(err, &ce) && ce.Name == "--log-level" {
			ce.Name = levelFrom
		} else if errors.As(err, &ce) {
			ce.Name = formatFrom
		}
		return usage(err)
	}
	if warn != "" {
		log.Warn(warn)
	}
	listen, err := parseAddrPort("--listen-addr", o.listen)
	if err != nil {
		return usage(err)
	}
	connect, err := parseAddrPort("--connect-addr", o.connect)
	if err != nil {
		return usage(err)
	}
	timeout, err := parseTimeout(o.timeout)
	if err != nil {
		return usage(err)
	}

	ctx, stop := signalContext()
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = validator.Run(ctx, validator.Options{Listen: listen, Connect: connect, Logger: log})
	if err == nil {
		log.Info("validated: outbound TCP from this uid is redirected to the proxy port",
			"connect_addr", connect.String(), "listen_addr", listen.String(), "uid", os.Getuid())
		return exitOK
	}
	log.Error("network validation failed", "error", err, "check", hint(err, listen, timeout), "uid", os.Getuid(), "gid", os.Getgid())
	return exitNotValidated
}

// hint says what to check, by the kind of failure.
func hint(err error, listen netip.AddrPort, timeout time.Duration) string {
	var sig signalError
	var ve *validator.Error
	switch {
	case errors.As(err, &sig):
		return "stopped by " + sig.String() + " before the check completed"
	case errors.As(err, &ve) && ve.Step == validator.StepListen:
		return fmt.Sprintf("could not listen on %s: the validator must run before the proxy, and nothing else may hold that address", listen)
	}
	rules := fmt.Sprintf("are the proxy-init rules installed in this pod's network namespace (by the CNI plugin or an earlier init container), redirecting outbound TCP to port %d? is this uid exempted by --proxy-uid (or its gid by --proxy-gid)? the validator must not run as the proxy's uid", listen.Port())
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %v: %s", timeout, rules)
	}
	return rules
}

// validatorLevel accepts upstream's tracing levels as well as ours: trace
// is our debug, off logs nothing.
func validatorLevel(level string) string {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "trace":
		return "debug"
	case "off":
		return "error+4"
	}
	return level
}

func parseAddrPort(flag, v string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(strings.TrimSpace(v))
	if err != nil {
		return ap, &nat.ConfigError{Name: flag, Value: v, Reason: "must be IP:PORT, with an IPv6 address in brackets ([::]:4140)", Err: err}
	}
	return ap, nil
}

// parseTimeout reads upstream's durations (a whole number and one of ms, s,
// m, h, d; a bare 0) and also Go's (1m30s, 1.5s). A bare nonzero number is
// refused as upstream does: its unit would be a guess.
func parseTimeout(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	bad := func(reason string, err error) (time.Duration, error) {
		return 0, &nat.ConfigError{Name: "--timeout", Value: v, Reason: reason, Err: err}
	}
	if s == "0" {
		return 0, nil
	}
	digits := strings.TrimRight(s, "abcdefghijklmnopqrstuvwxyz")
	if unit, ok := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[s[len(digits):]]; ok {
		if n, err := strconv.ParseUint(digits, 10, 64); err == nil {
			if n > uint64(1<<63-1)/uint64(unit) {
				return bad("too long", nil)
			}
			return time.Duration(n) * unit, nil
		}
	}
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		return bad("needs a unit: ms, s, m, h or d (10s)", nil)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return bad("must be a duration such as 10s, 500ms or 2m", err)
	}
	if d < 0 {
		return bad("must not be negative", nil)
	}
	return d, nil
}

// signalError is the cause the check is cancelled with on SIGTERM or SIGINT.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "killed by " + e.String() }

func (e signalError) String() string {
	switch e.sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return e.sig.String()
}

// signalContext is cancelled, with the signal as its cause, on SIGTERM or
// SIGINT: the kubelet stopping a pod mid-check must not look like success.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			cancel(signalError{s})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}
