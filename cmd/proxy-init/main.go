// Command proxy-init programs a meshed pod's transparent-proxy NAT rules into
// nf_tables over netlink. It is a drop-in for Linkerd's proxy-init: the same
// flags, the same rules, without iptables, nft, nsenter or sysctl binaries.
//
// This file parses the command line and reports the final error; the
// commands and what they print are in commands.go.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/spf13/pflag"
)

// Exit codes, documented in docs/proxy-init.md.
const (
	exitOK       = 0
	exitSystem   = 1 // the kernel or the system refused or failed
	exitUsage    = 2 // bad flags or configuration; nothing was touched
	exitMismatch = 3 // verify: the live rules differ from the configuration
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// env is what a command gets: the parsed flags, the outputs and the logger.
type env struct {
	o              *options
	fs             *pflag.FlagSet
	stdout, stderr io.Writer
	log            *slog.Logger
	// json: the final error is written as a JSON log record.
	json bool
	// view holds explain's flags and show's --format (explain.go).
	view *viewOptions
}

func run(args []string, stdout, stderr io.Writer) int {
	// Every command's output goes through out, so that output nobody
	// received (a closed pipe, a full disk, stdout on a read-only file)
	// fails the run instead of exiting 0 with nothing printed.
	out := &outputWriter{w: stdout}
	code := runCommand(args, out, stderr)
	if out.err != nil && code == exitOK {
		fmt.Fprintf(stderr, "proxy-init: write standard output: %v\n", out.err)
		return exitSystem
	}
	return code
}

// outputWriter keeps the first write error; later writes are dropped.
type outputWriter struct {
	w   io.Writer
	err error
}

func (o *outputWriter) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(p)
	o.err = err
	return n, err
}

func runCommand(args []string, stdout, stderr io.Writer) int {
	// validate has flags of its own (upstream's validator's), so it is
	// recognised before the configuration flags are parsed.
	if len(args) > 0 && args[0] == "validate" {
		return runValidate(args[1:], stdout, stderr)
	}
	var o options
	fs := newFlagSet(&o)
	view := addViewFlags(fs)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	e := &env{o: &o, fs: fs, stdout: stdout, stderr: stderr, json: wantsJSON(args), view: view}
	// pflag takes flags anywhere on the line, so the command word may come
	// first, last or between flags: it is the first positional argument.
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return runHelp(e)
		}
		return e.fail(&usageError{err.Error()})
	}
	name, rest := "apply", fs.Args()
	if len(rest) > 0 {
		if lookup(rest[0]) != nil {
			name, rest = rest[0], rest[1:]
		}
	}
	if o.version {
		name = "version"
	}
	if len(rest) > 0 {
		return e.fail(&usageError{unexpected(fs, args, rest[0])})
	}
	if err := view.onlyFor(name, fs); err != nil {
		return e.fail(err)
	}
	log, warn, err := newLogger(stderr, o.logFormat, o.logLevel)
	if err != nil {
		return e.fail(err)
	}
	e.log = log
	if warn != "" {
		log.Warn(warn)
	}
	return lookup(name).run(e)
}

// usageError is a mistake on the command line that no flag names.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

// unexpected explains a positional argument that is not a command. The
// usual cause is a boolean flag given its value after a space ("--ipv6
// false"): pflag reads that as --ipv6 (true) and a stray "false", and
// upstream, which ignores stray arguments, would silently program IPv6.
func unexpected(fs *pflag.FlagSet, args []string, arg string) string {
	if _, err := strconv.ParseBool(arg); err == nil {
		// The stray word is the one after a boolean flag: the same word
		// after a flag that takes a value is that flag's value.
		for i := 1; i < len(args) && args[i-1] != "--"; i++ {
			if args[i] == arg && isBoolFlag(fs, args[i-1]) {
				return fmt.Sprintf("unexpected argument %q after %s: a boolean flag takes its value with \"=\"; write %s=%s", arg, args[i-1], args[i-1], arg)
			}
		}
	}
	return fmt.Sprintf("unexpected argument %q (commands: %s)", arg, strings.Join(commandNames(), ", "))
}

// isBoolFlag reports whether a is a boolean flag written without a value:
// "--ipv6" or "-w".
func isBoolFlag(fs *pflag.FlagSet, a string) bool {
	var f *pflag.Flag
	if name, ok := strings.CutPrefix(a, "--"); ok {
		f = fs.Lookup(name)
	} else if short, ok := strings.CutPrefix(a, "-"); ok && len(short) == 1 {
		f = fs.ShorthandLookup(short)
	}
	return f != nil && f.Value.Type() == "bool"
}

// fail reports the run's error in one line on stderr, or as one JSON
// record with --log-format json, and returns its exit code.
func (e *env) fail(err error) int {
	code := exitSystem
	var ce *nat.ConfigError
	var ue *usageError
	if errors.As(err, &ce) || errors.As(err, &ue) {
		code = exitUsage
	}
	if ce != nil && ce.Name == "" {
		ce.Name = flagName[ce.Field]
	}
	if !e.json {
		fmt.Fprintf(e.stderr, "proxy-init: %v\n", err)
		return code
	}
	attrs := []any{"error", err.Error(), "exit_code", code}
	if ce != nil {
		attrs = append(attrs, "flag", ce.Name, "value", ce.Value)
	}
	jsonLogger(e.stderr).Error("proxy-init failed", attrs...)
	return code
}

// wantsJSON tells from the raw arguments whether errors are to be JSON,
// since a flag error stops parsing before --log-format may have been read.
func wantsJSON(args []string) bool {
	json := false
	for i, a := range args {
		switch {
		case a == "--":
			return json
		case a == "--log-format=json":
			json = true
		case strings.HasPrefix(a, "--log-format="):
			json = false
		case a == "--log-format" && i+1 < len(args):
			json = args[i+1] == "json"
		}
	}
	return json
}
