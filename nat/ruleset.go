package nat

// The ruleset model: what the plan produces and what reading the kernel
// yields. Both sides are rendered by the same code, so a live ruleset equals
// a planned one exactly when their renderings are equal.

// Family is the nf_tables family of a table; we use ip and ip6 tables rather
// than one inet table so that IPv4 works on kernels whose IPv6 is disabled and
// so NAT needs no Linux 5.2 inet-nat support.
type Family uint8

const (
	IPv4 Family = 2  // NFPROTO_IPV4
	IPv6 Family = 10 // NFPROTO_IPV6
)

func (f Family) String() string {
	if f == IPv6 {
		return "ip6"
	}
	return "ip"
}

// Ruleset is the tables we own, in the order they are installed.
type Ruleset struct {
	Tables []*Table
}

// Table is one family's table. Sets come before chains because rules refer to
// them; chains are listed in creation order, which is also nft's listing order.
type Table struct {
	Family Family
	Name   string
	// Flags are the table's flags as the kernel has them; we create tables
	// with none. A dormant table (flag 1) keeps its rules but unhooks them.
	Flags  uint32
	Sets   []*Set
	Chains []*Chain
}

// KeyType is the element type of a set.
type KeyType uint8

const (
	KeyPort KeyType = iota // inet_service
	KeyIPv4                // ipv4_addr
	KeyIPv6                // ipv6_addr
)

// Set is a named interval set. Elements hold inclusive ranges of big-endian
// keys of the set's key length, sorted, disjoint and not adjacent.
type Set struct {
	Name     string
	Key      KeyType
	Elements []Interval
	// Unrecognised describes a live set we could not have created (another
	// key type, no interval flag); it then renders as a comment.
	Unrecognised string
}

// Interval is an inclusive range of keys in network byte order.
type Interval struct {
	First, Last []byte
}

// Hook says where a base chain is attached. All our base chains are of type
// nat with policy accept.
type Hook struct {
	Name     string // "prerouting" or "output"
	Priority int32
	Type     string // "nat" in a plan; read back as the kernel has it
	Policy   string // "accept" in a plan
}

// Chain is a regular chain (Hook == nil) or a base chain.
type Chain struct {
	Name  string
	Hook  *Hook
	Rules []*Rule
}

// Rule matches all of Matches, counts, then applies Verdict. Name becomes the
// rule's comment "proxy-init/<Name>". Counter holds the live counter values of
// a rule read from the kernel and is zero in a plan.
type Rule struct {
	Name    string
	Matches []Match
	Verdict Verdict
	Counter Counter
	// Unrecognised is set when a live rule is not one we could have written;
	// it then holds a description of its expressions and nothing else is set.
	Unrecognised string
}

// Counter is the packet and byte count of a rule.
type Counter struct {
	Packets, Bytes uint64
}

// CommentPrefix starts the comment of every rule we install.
const CommentPrefix = "proxy-init/"

// Table returns the table of family f, or nil.
func (r *Ruleset) Table(f Family) *Table {
	for _, t := range r.Tables {
		if t.Family == f {
			return t
		}
	}
	return nil
}

// Chain returns the chain called name, or nil.
func (t *Table) Chain(name string) *Chain {
	for _, c := range t.Chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Set returns the set called name, or nil.
func (t *Table) Set(name string) *Set {
	for _, s := range t.Sets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// RuleCount is the number of rules across all tables.
func (r *Ruleset) RuleCount() int {
	n := 0
	for _, t := range r.Tables {
		for _, c := range t.Chains {
			n += len(c.Rules)
		}
	}
	return n
}
