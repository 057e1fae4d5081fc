// Package harness runs real TCP connections through proxy-init rules and
// compares where they land. Each case is installed twice, each time into a
// fresh pod/peer topology (package topology): once with the upstream rules
// programmed by iptables-nft one command per rule (package reference, the
// reference semantics) and once with ours (package nat in-process, or the
// built proxy-init binary with --netns). Every flow's outcome on each side is
// compared with the other side and with the landing the case writes down, so
// the two implementations cannot be wrong the same way unnoticed.
//
// The outcome of a flow is which listener answered and with which original
// destination (read with SO_ORIGINAL_DST by the stand-in proxies), or
// "refused", or "timeout".
package harness
