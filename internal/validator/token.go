package validator

import (
	"crypto/rand"
	"fmt"
)

// TokenLen is the length of the token without its newline, as upstream.
const TokenLen = 63

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newToken returns TokenLen random alphanumeric characters and a newline.
// Bytes of 248 and above are dropped so that every character is equally
// likely (248 = 4*62); the answer must be one no other server could give.
func newToken() (string, error) {
	out := make([]byte, 0, TokenLen+1)
	var buf [2 * TokenLen]byte
	for len(out) < TokenLen {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("make token: %w", err)
		}
		for _, b := range buf {
			if b < 248 && len(out) < TokenLen {
				out = append(out, alphabet[b%62])
			}
		}
	}
	return string(append(out, '\n')), nil
}
