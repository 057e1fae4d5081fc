package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// command is one word of the command line and what it runs.
type command struct {
	name, summary string
	run           func(*env) int
}

// commands is the dispatch table. Keep it in alphabetical order, one entry
// per line: commands added on different branches then land on different
// lines and merge cleanly. A command that changes or reads the namespace
// goes through nat/pod (see pod.go); it never sequences the engine.
// (Filled in init because help lists the table it is part of.)
var commands []command

func init() {
	commands = []command{
		{"apply", "(default) install the rules, replacing ours if they differ", runApply},
		{"explain", "say why one connection is (not) redirected: --inbound|--outbound --to ADDR:PORT", runExplain},
		{"help", "print this help", runHelp},
		{"remove", "delete our tables (and nothing else)", runRemove},
		{"show", "print the live rules of our tables with their counters (--format mermaid|dot: draw them)", runShow},
		{"validate", "check that outbound TCP is redirected (its own flags: proxy-init validate --help)", validateNotFirst},
		{"verify", "exit 0 if the live rules equal the configuration, 3 with a diff if not", runVerify},
		{"version", "print the version (also --version)", runVersion},
	}
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func commandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

func runHelp(e *env) int {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: proxy-init [%s] [flags]\n\n", strings.Join(commandNames(), "|"))
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	b.WriteString("\nThe command may come anywhere on the line.\n\nFlags:\n")
	b.WriteString(e.fs.FlagUsages())
	fmt.Fprint(e.stdout, b.String())
	return exitOK
}

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version or the VCS revision Go recorded is used.
var version = ""

func runVersion(e *env) int {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "" {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && (v == "" || v == "(devel)") {
				v = "revision " + s.Value
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	fmt.Fprintf(e.stdout, "proxy-init %s (%s)\n", v, runtime.Version())
	return exitOK
}

// validateNotFirst answers "validate" found after other arguments: it has
// flags of its own, recognised only when it comes first (see run).
func validateNotFirst(e *env) int {
	return e.fail(&usageError{`"validate" takes its own flags and must come first: proxy-init validate [flags]`})
}
