package hack

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestGoLineIsTheLowestTheModulesNeed: the go line of each module (the
// product's and hack's) is the highest go line among the modules it
// builds with, not the toolchain of the machine that last ran go mod tidy:
// `go 1.26.8` forced every consumer on an earlier 1.26 patch to switch
// toolchains although no dependency needs more than 1.26.0.
func TestGoLineIsTheLowestTheModulesNeed(t *testing.T) {
	for _, dir := range []string{"..", "."} {
		cmd := exec.Command("go", "list", "-m", "-json", "all")
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: go list -m all: %v", dir, err)
		}
		var main, need string
		dec := json.NewDecoder(bytes.NewReader(out))
		for {
			var m struct {
				GoVersion string
				Main      bool
			}
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if m.Main {
				main = m.GoVersion
				continue
			}
			if m.GoVersion != "" && goVersionCmp(m.GoVersion, need) > 0 {
				need = m.GoVersion
			}
		}
		if main != need {
			t.Errorf("%s/go.mod says go %s; the modules it builds with need go %s: say that", dir, main, need)
		}
	}
}

// goVersionCmp compares go lines such as 1.26 and 1.26.0 ("" is lowest).
func goVersionCmp(a, b string) int {
	num := func(v string) []int {
		var out []int
		for f := range strings.SplitSeq(v, ".") {
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
		return out
	}
	return slices.Compare(num(a), num(b))
}
