package nat_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testcfg"
)

// TestKindListsAreComplete: MatchKinds and VerdictKinds name every type of
// this package with the method that makes it a Match (text(Family)) or a
// Verdict (text()), read from the source, so that a new kind cannot be
// added without the exhaustiveness tests of its consumers seeing it.
func TestKindListsAreComplete(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	matches, verdicts := map[string]bool{}, map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "text" {
				continue
			}
			recv := fn.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			typ := recv.(*ast.Ident).Name
			switch fn.Type.Params.NumFields() {
			case 1:
				if typ != "Rule" { // Rule.text(f, counters) has two
					matches[typ] = true
				}
			case 0:
				verdicts[typ] = true
			}
		}
	}
	listed := func(vs []any) map[string]bool {
		out := map[string]bool{}
		for _, v := range vs {
			out[reflect.TypeOf(v).Name()] = true
		}
		return out
	}
	var ms, vs []any
	for _, m := range testcfg.MatchKinds() {
		ms = append(ms, m)
	}
	for _, v := range testcfg.VerdictKinds() {
		vs = append(vs, v)
	}
	if got := listed(ms); !reflect.DeepEqual(got, matches) {
		t.Errorf("MatchKinds lists %v, the source declares %v", keys(got), keys(matches))
	}
	if got := listed(vs); !reflect.DeepEqual(got, verdicts) {
		t.Errorf("VerdictKinds lists %v, the source declares %v", keys(got), keys(verdicts))
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
