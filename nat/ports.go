package nat

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// PortRange is an inclusive range of TCP ports; a single port has First == Last.
type PortRange struct {
	First, Last uint16
}

func (r PortRange) String() string {
	if r.First == r.Last {
		return strconv.Itoa(int(r.First))
	}
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// ParsePortRange parses "80" or "8000-8080". Port 0 is accepted, as upstream
// accepts it: no TCP connection goes to it, so listing it changes nothing,
// and a range such as "0-1023" means the ports it holds.
func ParsePortRange(s string) (PortRange, error) {
	first, last, isRange := strings.Cut(s, "-")
	lo, err := parsePort(first)
	if err != nil {
		return PortRange{}, err
	}
	if !isRange {
		return PortRange{lo, lo}, nil
	}
	hi, err := parsePort(last)
	if err != nil {
		return PortRange{}, err
	}
	if hi < lo {
		return PortRange{}, fmt.Errorf("range %q ends before it starts", s)
	}
	return PortRange{lo, hi}, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" {
		return 0, fmt.Errorf("missing port number")
	}
	// One leading "+" is allowed, as upstream's strconv.Atoi allows it.
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number between 0 and 65535", s)
	}
	return uint16(n), nil
}

// ParsePortList parses a comma-separated list of ports and ranges (see
// ParseList for blanks and empty items).
func ParsePortList(s string) ([]PortRange, error) {
	return ParseList(SplitList(s), ParsePortRange)
}

// MergePorts sorts ranges and merges the ones that overlap or touch, so that
// duplicates and overlaps in user input collapse into the minimal interval set
// the kernel stores (nf_tables interval sets refuse overlapping elements).
func MergePorts(in []PortRange) []PortRange {
	if len(in) == 0 {
		return nil
	}
	rs := append([]PortRange(nil), in...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].First < rs[j].First })
	out := rs[:1]
	for _, r := range rs[1:] {
		cur := &out[len(out)-1]
		if uint32(r.First) <= uint32(cur.Last)+1 {
			if r.Last > cur.Last {
				cur.Last = r.Last
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

func portListString(rs []PortRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}
