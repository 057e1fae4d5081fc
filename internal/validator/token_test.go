package validator

import (
	"strings"
	"testing"
)

func TestTokenShape(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := newToken()
		if err != nil {
			t.Fatal(err)
		}
		body, ok := strings.CutSuffix(tok, "\n")
		if !ok || len(body) != TokenLen || strings.Trim(body, alphabet) != "" {
			t.Fatalf("token %q: want 63 alphanumerics and a newline", tok)
		}
		if seen[tok] {
			t.Fatalf("token %q repeated", tok)
		}
		seen[tok] = true
	}
}
