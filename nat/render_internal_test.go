package nat

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestRenderElementFormat(t *testing.T) {
	s := &Set{Key: KeyIPv4, Elements: addrIntervals([]netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("192.0.2.8/31"), netip.MustParsePrefix("192.0.2.10/32"),
	}, IPv4)}
	var got []string
	for _, e := range s.Elements {
		got = append(got, s.Key.Format(e))
	}
	want := []string{"10.0.0.0/8", "192.0.2.7-192.0.2.10"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("format = %v, want %v", got, want)
	}
}
