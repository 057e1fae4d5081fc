package nat

// What a Host reports of its namespace besides our tables.

// NoID marks a uid or gid as not given (Host.Route, a flow's UID and GID).
const NoID = -1

// BaseChain is a base chain of any table, as the kernel lists it; explain
// lists those of other tables that share our hooks.
type BaseChain struct {
	// Family is the table's family: ip, ip6, inet, arp, bridge, netdev.
	Family   string `json:"family"`
	Table    string `json:"table"`
	Chain    string `json:"chain"`
	Type     string `json:"type"`
	Hook     string `json:"hook"`
	Priority int32  `json:"priority"`
}

// Ours reports whether the chain is in one of our tables.
func (c BaseChain) Ours() bool {
	return c.Table == TableName && (c.Family == IPv4.String() || c.Family == IPv6.String())
}
