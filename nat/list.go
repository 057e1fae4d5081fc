package nat

import (
	"fmt"
	"strings"
)

// The one list-item mechanism: every list we take (a repeated,
// comma-separated flag, a string of the library's Parse*List, a CNI JSON
// array) is split by SplitList or given as items, and every item goes
// through ParseList, so all front ends trim, skip and report alike.

// ListItemError says which item of a list was refused and why.
type ListItemError struct {
	Item string
	Err  error
}

func (e *ListItemError) Error() string { return fmt.Sprintf("item %q: %v", e.Item, e.Err) }

func (e *ListItemError) Unwrap() error { return e.Err }

// SplitList splits a comma-separated value into its items; an empty value
// has none.
func SplitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// ParseList parses each item with parse after trimming its spaces. Empty
// (or blank) items are skipped, as upstream skips them in its port lists:
// "4190,4191," from a template means those two ports, and an empty item
// names nothing that could be redirected or not. A refused item is a
// *ListItemError.
func ParseList[T any](items []string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		v, err := parse(it)
		if err != nil {
			return nil, &ListItemError{Item: it, Err: err}
		}
		out = append(out, v)
	}
	return out, nil
}
