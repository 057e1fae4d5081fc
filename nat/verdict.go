package nat

import "fmt"

// A Verdict ends a rule. Like Match, the set of kinds is closed.
type Verdict interface {
	text() string
}

// Return goes back to the calling chain: the packet is left alone by us.
type Return struct{}

func (Return) text() string { return "return" }

// Jump continues in another chain of the same table.
type Jump struct{ Chain string }

func (j Jump) text() string { return "jump " + j.Chain }

// Redirect sends the packet to a local port ("redirect to :4143"); the kernel
// picks the primary address of the incoming interface, or loopback for
// locally generated traffic.
type Redirect struct{ Port uint16 }

func (r Redirect) text() string { return fmt.Sprintf("redirect to :%d", r.Port) }
