package main

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/proxy-init/netlink-native/nat"
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
		{"--l", "4190,4191\n"},
		{"--l", "\n4190"},
		{"--l", "4190\r"},
		{"--l", "4190,4191\r\n"},
		{"--l", `"4190","4191"`},
		{"--l", `"4190,4191"`},
		{"-l", "80", "-l=90"},
		{"-l80"},
	} {
		var want, got []string
		ref := pflag.NewFlagSet("ref", pflag.ContinueOnError)
		ref.StringSliceVarP(&want, "l", "l", nil, "")
		ours := pflag.NewFlagSet("ours", pflag.ContinueOnError)
		ours.VarP((*listValue)(&got), "l", "l", "")
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

// A value of several lines counts every line (StringSlice keeps the first).
func TestListValueReadsEveryLine(t *testing.T) {
	var got []string
	fs := pflag.NewFlagSet("ours", pflag.ContinueOnError)
	fs.Var((*listValue)(&got), "l", "")
	if err := fs.Parse([]string{"--l", "4190,4191\n8080\n\n9090-9099\n"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"4190", "4191", "8080", "9090-9099"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if err := fs.Parse([]string{"--l", `80"`}); err == nil {
		t.Fatal(`a stray quote was accepted`)
	}
}

// One list-item parser: a list flag and the library's Parse*List read every
// value alike (the same items, or the same refused item).
func TestListFlagsAndLibraryParseAlike(t *testing.T) {
	for _, v := range []string{"", "80", "80,90-100", " 80 , 90", "80,,90", ",80,", " , ", "0-1023", "80,abc", "90-80,80", "10.0.0.0/8", "bad"} {
		var items listValue
		if err := items.Set(v); err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		fromFlag, errFlag := listItems("--l", items, nat.ParsePortRange)
		fromLib, errLib := nat.ParsePortList(v)
		if fmt.Sprint(fromFlag) != fmt.Sprint(fromLib) || (errFlag == nil) != (errLib == nil) {
			t.Errorf("%q: flag %v, %v; library %v, %v", v, fromFlag, errFlag, fromLib, errLib)
		}
		var ce *nat.ConfigError
		var ie *nat.ListItemError
		if errFlag != nil && (!errors.As(errFlag, &ce) || !errors.As(errLib, &ie) || ce.Value != ie.Item) {
			t.Errorf("%q: the flag refuses %v, the library %v: not the same item", v, errFlag, errLib)
		}
	}
}

// TestEveryFieldHasAFlag: every setting nat and nat/pod can refuse is
// named by its flag, so that no error prints a Go field name.
func TestEveryFieldHasAFlag(t *testing.T) {
	// Every field nat names, so that a field added later is checked too.
	for f := nat.FieldOther + 1; f.String() != fmt.Sprintf("field(%d)", int(f)); f++ {
		if f == nat.FieldRuleset { // proxy-init only installs plans
			continue
		}
		if flagName[f] == "" {
			t.Errorf("nat.%v has no flag in flagName", f)
		}
	}
}
