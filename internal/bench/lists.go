package main

import (
	"fmt"
	"strings"
)

// portEntries returns n entries for --inbound-ports-to-ignore, alternately a
// single port and a three-port range, each followed by a port that is not
// ignored, so that merging keeps all n as separate intervals.
func portEntries(n int) []string {
	out := make([]string, 0, n)
	p := 10000
	for i := range n {
		if i%2 == 0 {
			out = append(out, fmt.Sprint(p))
			p += 2
		} else {
			out = append(out, fmt.Sprintf("%d-%d", p, p+2))
			p += 4
		}
	}
	return out
}

// everyOtherPort is the worst case of the port set: 1, 3, ..., 65535, that
// is 32768 single ports that no merging can join.
func everyOtherPort() []string {
	out := make([]string, 0, 32768)
	for p := 1; p <= 65535; p += 2 {
		out = append(out, fmt.Sprint(p))
	}
	return out
}

// subnetEntries returns n IPv4 and n IPv6 subnets for --subnets-to-ignore,
// disjoint and not adjacent, none containing a benchmark address (the
// datapath peer is 192.0.2.1).
func subnetEntries(n int) []string {
	out := make([]string, 0, 2*n)
	for i := range n {
		out = append(out, fmt.Sprintf("10.%d.%d.0/24", i>>7, (i&127)*2))
	}
	for i := range n {
		out = append(out, fmt.Sprintf("fd00:0:0:%x::/64", 2*i))
	}
	return out
}

// v4Only keeps the IPv4 entries of a subnet list.
func v4Only(items []string) []string {
	var out []string
	for _, s := range items {
		if !strings.Contains(s, ":") {
			out = append(out, s)
		}
	}
	return out
}

// listChunk is the most entries listFlag puts in one argument.
const listChunk = 2000

// listFlag spells a long list as repeated flags of at most listChunk entries: one
// argument may not exceed 128 KiB (MAX_ARG_STRLEN), and both proxy-init and
// the reference script accumulate repeated list flags.
func listFlag(flag string, items []string) []string {
	var out []string
	for len(items) > 0 {
		n := min(len(items), listChunk)
		out = append(out, flag, strings.Join(items[:n], ","))
		items = items[n:]
	}
	return out
}
