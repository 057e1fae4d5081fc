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

// ParsePortRange parses "80" or "8000-8080". Port 0 is refused: it cannot be
// the destination of a TCP connection, so an entry naming it is a typo.
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
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port number between 1 and 65535", s)
	}
	return uint16(n), nil
}

// ParsePortList parses a comma-separated list of ports and ranges. An empty
// string is an empty list; an empty item inside a list ("80,,90") is an error
// because it usually means a templating mistake upstream of us.
func ParsePortList(s string) ([]PortRange, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []PortRange
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("empty item in list %q", s)
		}
		r, err := ParsePortRange(item)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
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
