package main

// Helpers shared by the tests of the binary (badinput, privilege, chroot);
// running it is runCmd in main_test.go.

import "strings"

// afterCommand inserts flags into args after the command word, if any: the
// command must come first.
func afterCommand(args []string, flags ...string) []string {
	i := 0
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		i = 1
	}
	return append(append(append([]string{}, args[:i]...), flags...), args[i:]...)
}
