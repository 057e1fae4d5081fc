package hack

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// productInternal is the root module's internal tree. Go refuses such an
// import from another module only when it builds the package, and hack/
// is several modules (hack, hack/e2e, its tools) that make test builds
// apart: the benchmark harness and the chart test once imported
// internal/netns, nfnl, topology, kubefake and cniinstall from here. What
// needs the product's internals lives in the root module (internal/bench,
// deploy/charts); what lives here reaches the product through its public
// packages or runs its programs (go build ./internal/... in a string is
// fine: that builds, it does not import).
const productInternal = "github.com/proxy-init/netlink-native/internal"

// TestNoImportOfTheProductsInternals parses every Go file under hack/, in
// every module there, and fails on an import of the root module's
// internal packages.
func TestNoImportOfTheProductsInternals(t *testing.T) {
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		files++
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if p == productInternal || strings.HasPrefix(p, productInternal+"/") {
				t.Errorf("%s imports %s: move the tool into the root module, or use the product's public packages", fset.Position(imp.Pos()), p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The walk saw the modules below this one (hack/e2e has dozens of files).
	if files < 30 {
		t.Fatalf("parsed %d Go files under hack/; the walk missed the modules below it", files)
	}
}
