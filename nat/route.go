package nat

import (
	"fmt"
	"net/netip"
)

// Route is the namespace's answer to a route lookup for a destination, as
// `ip route get ADDR` prints it: the interface a connection to ADDR leaves
// through. explain asks it for an outbound flow whose output interface was
// not given, because the ignore-loopback rule matches the interface, not
// the address: a connection to one of the pod's own addresses leaves
// through lo too (its route is "local").
type Route struct {
	// Dst is the address looked up.
	Dst netip.Addr `json:"dst"`
	// OIF is the output interface's name; empty when there is no route.
	OIF string `json:"oif,omitempty"`
	// Type is the route's type as ip route names it: "local" for one of
	// the namespace's own addresses, "unicast" for a route to elsewhere.
	Type string `json:"type,omitempty"`
	// NoRoute, when the lookup found no route, is why, as the kernel said
	// it ("network is unreachable"); a connect(2) to Dst fails so, before
	// any packet reaches a NAT hook.
	NoRoute string `json:"no_route,omitempty"`
}

// String is the route as ip route get would summarise it.
func (r Route) String() string {
	if r.NoRoute != "" {
		return fmt.Sprintf("no route to %s: %s", r.Dst, r.NoRoute)
	}
	if r.Type == "" || r.Type == "unicast" {
		return fmt.Sprintf("%s dev %s", r.Dst, r.OIF)
	}
	return fmt.Sprintf("%s %s dev %s", r.Type, r.Dst, r.OIF)
}
