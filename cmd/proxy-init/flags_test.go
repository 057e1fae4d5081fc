package main

import (
	"reflect"
	"testing"

	"github.com/spf13/pflag"
)

// listValue replaced pflag's StringSlice for the list flags; for every
// unquoted input (all that ports and CIDRs need) it must split the same.
func TestListValueSplitsLikeStringSlice(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--l", "80"},
		{"--l", "80,90-100"},
		{"--l", "80", "--l", "90"},
		{"--l="},
		{"--l=", "--l", "80"},
		{"--l", "80", "--l="},
		{"--l", "80,"},
		{"--l", "80,,90"},
		{"--l", ","},
		{"--l", " 80, 90"},
		{"--l", "10.0.0.0/8,fd00::/8"},
	} {
		var want, got []string
		ref := pflag.NewFlagSet("ref", pflag.ContinueOnError)
		ref.StringSliceVar(&want, "l", nil, "")
		ours := pflag.NewFlagSet("ours", pflag.ContinueOnError)
		ours.Var((*listValue)(&got), "l", "")
		if err := ref.Parse(args); err != nil {
			t.Fatalf("%q: StringSlice: %v", args, err)
		}
		if err := ours.Parse(args); err != nil {
			t.Fatalf("%q: listValue: %v", args, err)
		}
		if len(want) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: listValue gives %q, StringSlice %q", args, got, want)
		}
	}
}
