// Command bench measures bin/proxy-init against `nft -f` and the iptables-nft
// reference installer and writes bench/REPORT.md, bench/results.json and
// bench/charts.json, the figures of the report's charts, which
// hack/benchplot draws (gonum/plot stays in the hack/ module). It is driven
// by hack/bench.sh (`make bench`); see the report for what each table means.
// It lives in the root module because it runs the product through its
// internal packages (netns, nfnl, topology, kubefake).
//
//	bench run     [flags]          all sections, then the report (needs root)
//	bench report  -out DIR         the report and charts.json again from DIR/results.json
//	bench child                    internal: inside `unshare -n`, run and time one command
//	bench serve   -port P          internal: accept/write/close loop (datapath server)
//	bench dial    -addr A:P ...    internal: connect/read/close loop (datapath client)
//
// Every kernel-touching step happens in a network namespace made for it:
// `unshare -n` per timed run, and namespaces held by a descriptor of this
// process (internal/topology, internal/netns: nothing named or mounted
// under /run) for the datapath and the front ends. The host namespace is
// never changed.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench run|report|child|serve|dial [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(os.Args[2:])
	case "report":
		err = cmdReport(os.Args[2:])
	case "child":
		err = cmdChild()
	case "serve":
		err = cmdServe(os.Args[2:])
	case "dial":
		err = cmdDial(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
