package nat

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestParsePortList(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []PortRange
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "80", want: []PortRange{{80, 80}}},
		{in: "4190,4191", want: []PortRange{{4190, 4190}, {4191, 4191}}},
		{in: "1-65535", want: []PortRange{{1, 65535}}},
		{in: " 22 , 8000-8080 ", want: []PortRange{{22, 22}, {8000, 8080}}},
		{in: "0", want: []PortRange{{0, 0}}},         // upstream accepts port 0
		{in: "0-1023", want: []PortRange{{0, 1023}}}, // and ranges from it
		{in: "65536", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "90-80", wantErr: true},
		{in: "1-", wantErr: true},
		{in: "-5", wantErr: true},
		{in: "80,,90", want: []PortRange{{80, 80}, {90, 90}}}, // empty items are skipped, as upstream skips them
		{in: "80,", want: []PortRange{{80, 80}}},
		{in: ", ,", want: nil},
		{in: "1-2-3", wantErr: true},
		{in: "0x50", wantErr: true},
		{in: "+80", want: []PortRange{{80, 80}}}, // as upstream's strconv.Atoi reads it
		{in: "+80-+90", want: []PortRange{{80, 90}}},
		{in: "++80", wantErr: true},
		{in: "+", wantErr: true},
	} {
		got, err := ParsePortList(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParsePortList(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePortList(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestMergePorts(t *testing.T) {
	got := MergePorts([]PortRange{{10, 20}, {5, 5}, {15, 30}, {31, 31}, {40, 50}, {6, 6}, {65535, 65535}})
	want := []PortRange{{5, 6}, {10, 31}, {40, 50}, {65535, 65535}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("MergePorts = %v, want %v", got, want)
	}
}

func TestParsePrefix(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "10.0.0.0/8", want: "10.0.0.0/8"},
		{in: "10.1.2.3", want: "10.1.2.3/32"},
		{in: "fd00::/8", want: "fd00::/8"},
		{in: "2001:db8::1", want: "2001:db8::1/128"},
		{in: "10.1.2.3/16", want: "10.1.2.3/16"}, // host bits: kept as written, masked by the plan
		{in: "fd00::1/64", want: "fd00::1/64"},
		{in: "10.0.0.0/33", wantErr: true}, // bad length
		{in: "300.1.1.1/8", wantErr: true}, // bad address
		{in: "::ffff:10.0.0.0/104", wantErr: true},
		{in: "fe80::1%eth0", wantErr: true}, // zone
		{in: "", wantErr: true},
		{in: "abc", wantErr: true},
	} {
		got, err := ParsePrefix(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParsePrefix(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && got.String() != tc.want {
			t.Errorf("ParsePrefix(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestMergePrefixes(t *testing.T) {
	ps := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.128/25"),
		netip.MustParsePrefix("10.0.0.0/25"),
		netip.MustParsePrefix("10.0.0.5/32"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("fd00::/8"),
		netip.MustParsePrefix("255.255.255.255/32"),
	}
	got := mergePrefixes(ps, true)
	want := []addrRange{
		{netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("10.0.0.255")},
		{netip.MustParseAddr("192.168.0.0"), netip.MustParseAddr("192.168.255.255")},
		{netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("255.255.255.255")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mergePrefixes = %v, want %v", got, want)
	}
	if got6 := mergePrefixes(ps, false); len(got6) != 1 || got6[0].first.String() != "fd00::" {
		t.Fatalf("mergePrefixes v6 = %v", got6)
	}
}

func TestValidate(t *testing.T) {
	ok := DefaultConfig()
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   Field
	}{
		{"defaults", func(*Config) {}, 0},
		{"inbound port zero", func(c *Config) { c.InboundProxyPort = 0 }, FieldInboundProxyPort},
		{"outbound port zero", func(c *Config) { c.OutboundProxyPort = 0 }, FieldOutboundProxyPort},
		{"same proxy ports, as upstream accepts", func(c *Config) { c.OutboundProxyPort = c.InboundProxyPort }, 0},
		{"uid too large", func(c *Config) { c.ProxyUID = 1 << 32 }, FieldProxyUID},
		{"gid too large", func(c *Config) { c.ProxyGID = 1<<32 - 1 }, FieldProxyGID},
		{"reversed range", func(c *Config) { c.InboundPortsToIgnore = []PortRange{{9, 8}} }, FieldInboundPortsToIgnore},
		{"port zero in list", func(c *Config) { c.OutboundPortsToIgnore = []PortRange{{0, 0}} }, 0},
		{"redirect from zero", func(c *Config) { c.PortsToRedirect = []PortRange{{0, 5}} }, 0},
		{"ipv6 subnet with ipv6 off", func(c *Config) {
			c.IPv6 = false
			c.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("fd00::/8")}
		}, FieldInboundSubnetsToIgnore},
		{"host bits are masked, not refused", func(c *Config) {
			c.OutboundSubnetsToIgnore = []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("10.1.1.1"), 8)}
		}, 0},
		{"mixed families with ipv6 on", func(c *Config) {
			c.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			err := c.Validate()
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			ce, isCE := err.(*ConfigError)
			if !isCE || ce.Field != tc.want {
				t.Fatalf("error = %v, want a ConfigError for %v", err, tc.want)
			}
		})
	}
}

// A subnet with host bits plans as its masked prefix, as iptables masks it.
func TestPlanMasksHostBits(t *testing.T) {
	c := DefaultConfig()
	c.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.1.2.3/16")}
	got, err := Plan(c)
	if err != nil {
		t.Fatal(err)
	}
	c.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}
	want, _ := Plan(c)
	if got.Render() != want.Render() {
		t.Fatalf("10.1.2.3/16 plans as\n%s\nwant\n%s", got.Render(), want.Render())
	}
}
