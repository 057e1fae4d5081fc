package linediff

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	if d := Diff("a\nb\n", "a\nb\n"); d != "" {
		t.Fatalf("equal texts differ: %q", d)
	}
	d := Diff("a\nb\nc", "a\nx\nc")
	if !strings.Contains(d, "-b\n") || !strings.Contains(d, "+x\n") || !strings.Contains(d, " a\n") {
		t.Fatalf("diff = %q", d)
	}
}
