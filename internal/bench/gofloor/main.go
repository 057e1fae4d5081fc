// Command gofloor does nothing. Section 1 of the benchmarks times it, built
// like bin/proxy-init (static, stripped), to show what starting any Go
// program costs above the namespace floor: the part of ours that no change
// to our own code can remove.
package main

func main() {}
