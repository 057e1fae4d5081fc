package cniinstall

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSameContent: equal files of several blocks are equal; a difference
// in the last byte, or a longer file, is not.
func TestSameContent(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160000 bytes: 3 blocks
	src := filepath.Join(dir, "src")
	must(t, os.WriteFile(src, data, 0o755))
	for _, tc := range []struct {
		name string
		dst  []byte
		want bool
	}{
		{"equal", data, true},
		{"last byte", append(append([]byte{}, data[:len(data)-1]...), 'X'), false},
		{"longer", append(append([]byte{}, data...), 'X'), false},
		{"empty", nil, false},
	} {
		dst := filepath.Join(dir, "dst")
		must(t, os.WriteFile(dst, tc.dst, 0o755))
		f, err := os.Open(src)
		must(t, err)
		got, err := sameContent(f, int64(len(data)), dst)
		f.Close()
		if err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
