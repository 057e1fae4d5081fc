package cni

import (
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/proxy-init/netlink-native/nat"
)

// installerConfig is our plugin's entry as linkerd's installer writes it
// (linkerd2-cni chart), with every key of the linkerd section set.
const installerConfig = `{
  "cniVersion": "1.0.0",
  "name": "linkerd-cni",
  "type": "linkerd-cni",
  "log_level": "info",
  "policy": {"type": "k8s", "k8s_api_root": "https://10.96.0.1:443", "k8s_auth_token": "token"},
  "kubernetes": {"kubeconfig": "/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig", "k8s_api_root": "https://10.96.0.1:443"},
  "linkerd": {
    "incoming-proxy-port": 4143,
    "outgoing-proxy-port": 4140,
    "proxy-uid": 2102,
    "proxy-gid": 2103,
    "ports-to-redirect": [80, 8080],
    "inbound-ports-to-ignore": ["4191", "4190", "25,587", "9000-9010"],
    "outbound-ports-to-ignore": ["443", "6443"],
    "subnets-to-ignore": ["10.0.0.0/8", "fd00::/8"],
    "outbound-subnets-to-ignore": ["169.254.169.254"],
    "simulate": false,
    "use-wait-flag": true,
    "iptables-mode": "nft",
    "ipv6": true
  }
}`

func ports(t *testing.T, s string) []nat.PortRange {
	t.Helper()
	p, err := nat.ParsePortList(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func prefixes(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := nat.ParsePrefixList(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDecodeEveryUpstreamKey(t *testing.T) {
	s, err := Decode([]byte(installerConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := nat.Config{
		InboundProxyPort: 4143, OutboundProxyPort: 4140, ProxyUID: 2102, ProxyGID: 2103,
		PortsToRedirect:         ports(t, "80,8080"),
		InboundPortsToIgnore:    ports(t, "4191,4190,25,587,9000-9010"),
		OutboundPortsToIgnore:   ports(t, "443,6443"),
		InboundSubnetsToIgnore:  prefixes(t, "10.0.0.0/8,fd00::/8"),
		OutboundSubnetsToIgnore: prefixes(t, "169.254.169.254/32"),
		IPv6:                    true,
	}
	if !reflect.DeepEqual(s.Base, want) {
		t.Errorf("config\n got %+v\nwant %+v", s.Base, want)
	}
	if s.Kubeconfig != "/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig" || s.Timeout != DefaultTimeout || s.LogLevel != slog.LevelInfo || s.Simulate {
		t.Errorf("settings %+v", s)
	}
	if want := []string{"linkerd.use-wait-flag", "linkerd.iptables-mode"}; !reflect.DeepEqual(s.Ignored, want) {
		t.Errorf("ignored %v, want %v", s.Ignored, want)
	}
	if len(s.Unknown) != 0 {
		t.Errorf("unknown keys %v", s.Unknown)
	}
}

// TestDecodeDefaults: absent keys take proxy-init's defaults, except ipv6,
// which upstream's plugin reads as false when absent.
func TestDecodeDefaults(t *testing.T) {
	s, err := Decode([]byte(`{"cniVersion":"0.3.1","name":"n","type":"t","linkerd":{"simulate":true,"proxy-uid":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := nat.DefaultConfig()
	want.IPv6 = false
	if !reflect.DeepEqual(s.Base, want) {
		t.Errorf("config %+v, want %+v", s.Base, want)
	}
	if s.LogLevel != slog.LevelWarn || s.Timeout != DefaultTimeout || !s.Simulate || s.Conf.PrevResult != nil {
		t.Errorf("settings %+v", s)
	}
}

func TestDecodeSettings(t *testing.T) {
	s, err := Decode([]byte(`{"cniVersion":"1.0.0","name":"n","type":"t","log_level":"DEBUG","log_format":"json",
		"kubernetes":{"timeout":"1500ms"},"linkerd":{"proxy-gid":-1,"inbound-ports-to-ignore":[""],"incomng-proxy-port":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.LogLevel != slog.LevelDebug || s.LogFormat != "json" || s.Timeout != 1500*time.Millisecond || s.Base.ProxyGID != -1 || s.Base.InboundPortsToIgnore != nil {
		t.Errorf("settings %+v", s)
	}
	if !reflect.DeepEqual(s.Unknown, []string{"linkerd.incomng-proxy-port"}) {
		t.Errorf("unknown %v: a misspelt key must be reported", s.Unknown)
	}
}

func TestDecodeBadValues(t *testing.T) {
	for _, c := range []struct {
		linkerd string // the linkerd section, or a whole configuration when it starts with "{"
		code    uint
		msg     string
	}{
		{`{`, types.ErrDecodingFailure, "decode network configuration"},
		{`{"cniVersion":"1.0.0","name":"n"} {}`, types.ErrDecodingFailure, "trailing data"},
		{`{"cniVersion":"1.0.0","name":"n","log_format":"xml"}`, types.ErrInvalidNetworkConfig, `"xml" for log_format`},
		{`{"cniVersion":"1.0.0","name":"n","kubernetes":{"timeout":"0s"}}`, types.ErrInvalidNetworkConfig, `"0s" for kubernetes.timeout`},
		{`{"cniVersion":"1.0.0","name":"n","kubernetes":{"timeout":"2m"}}`, types.ErrInvalidNetworkConfig, `"2m" for kubernetes.timeout`},
		{`{"cniVersion":"1.0.0","name":"n","kubernetes":{"kubeconfig":7}}`, types.ErrInvalidNetworkConfig, "kubernetes.kubeconfig: a JSON number, must be a JSON string"},
		{`{"cniVersion":"1.0.0","name":"n","prevResult":{"cniVersion":"1.0.0","ips":"x"}}`, types.ErrDecodingFailure, "decode prevResult"},
		{`"incoming-proxy-port": "4143"`, types.ErrInvalidNetworkConfig, "linkerd.incoming-proxy-port: a JSON string, must be a JSON number"},
		{`"incoming-proxy-port": 0`, types.ErrInvalidNetworkConfig, `"0" for linkerd.incoming-proxy-port`},
		{`"outgoing-proxy-port": 65536`, types.ErrInvalidNetworkConfig, `"65536" for linkerd.outgoing-proxy-port`},
		{`"incoming-proxy-port": 41.5`, types.ErrInvalidNetworkConfig, `"41.5" for linkerd.incoming-proxy-port: must be an integer`},
		{`"proxy-uid": 1e20`, types.ErrInvalidNetworkConfig, `"1e20" for linkerd.proxy-uid: must be an integer`},
		{`"proxy-gid": 4294967295`, types.ErrInvalidNetworkConfig, `"4294967295" for linkerd.proxy-gid`},
		{`"proxy-uid": "2102"`, types.ErrInvalidNetworkConfig, "linkerd.proxy-uid: a JSON string"},
		{`"ports-to-redirect": ["80"]`, types.ErrInvalidNetworkConfig, "linkerd.ports-to-redirect: a JSON string, must be a JSON number"},
		{`"ports-to-redirect": [-1]`, types.ErrInvalidNetworkConfig, `"-1" for linkerd.ports-to-redirect`},
		{`"inbound-ports-to-ignore": ["4190", "1-2-3"]`, types.ErrInvalidNetworkConfig, `"1-2-3" for linkerd.inbound-ports-to-ignore`},
		{`"subnets-to-ignore": ["10.0.0.0/33"]`, types.ErrInvalidNetworkConfig, `"10.0.0.0/33" for linkerd.subnets-to-ignore`},
		{`"ports-to-redirect": 80`, types.ErrInvalidNetworkConfig, "linkerd.ports-to-redirect: a JSON number, must be a JSON array"},
		{`"inbound-ports-to-ignore": [4190]`, types.ErrInvalidNetworkConfig, "linkerd.inbound-ports-to-ignore: a JSON number, must be a JSON string"},
		{`"inbound-ports-to-ignore": ["9-1"]`, types.ErrInvalidNetworkConfig, `"9-1" for linkerd.inbound-ports-to-ignore`},
		{`"outbound-ports-to-ignore": ["https"]`, types.ErrInvalidNetworkConfig, `"https" for linkerd.outbound-ports-to-ignore`},
		{`"subnets-to-ignore": ["fd00::/8"], "ipv6": false`, types.ErrInvalidNetworkConfig, `"fd00::/8" for linkerd.subnets-to-ignore: is an IPv6 subnet but ipv6 is false`},
		{`"outbound-subnets-to-ignore": ["nowhere"]`, types.ErrInvalidNetworkConfig, `"nowhere" for linkerd.outbound-subnets-to-ignore`},
		{`"simulate": "yes"`, types.ErrInvalidNetworkConfig, "linkerd.simulate: a JSON string, must be a JSON bool"},
		{`"ipv6": 1`, types.ErrInvalidNetworkConfig, "linkerd.ipv6: a JSON number, must be a JSON bool"},
		{`"iptables-mode": false`, types.ErrInvalidNetworkConfig, "linkerd.iptables-mode: a JSON bool, must be a JSON string"},
	} {
		in := c.linkerd
		if !strings.HasPrefix(in, "{") {
			in = `{"cniVersion":"1.0.0","name":"n","type":"t","linkerd":{` + in + `}}`
		}
		_, err := Decode([]byte(in))
		var te *types.Error
		if !errors.As(err, &te) {
			t.Errorf("%s: error %v, want a CNI error", in, err)
			continue
		}
		if te.Code != c.code || !strings.Contains(te.Msg, c.msg) {
			t.Errorf("%s:\n got %d %q\nwant %d containing %q", in, te.Code, te.Msg, c.code, c.msg)
		}
	}
}

// TestDecodeAcceptsWhatUpstreamAccepts: values proxy-init's flags accept
// because upstream does (see nat's parity rules) are accepted here too; nat
// and nat/pod warn about the surprising ones.
func TestDecodeAcceptsWhatUpstreamAccepts(t *testing.T) {
	s, err := Decode([]byte(`{"cniVersion":"1.0.0","name":"n","type":"t","linkerd":{"incoming-proxy-port":8080,"outgoing-proxy-port":8080,
		"proxy-uid":-2,"ports-to-redirect":[0],"inbound-ports-to-ignore":["4190","","4191,"],"subnets-to-ignore":["10.1.2.3/16"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Base.InboundProxyPort != 8080 || s.Base.ProxyUID != -2 || !reflect.DeepEqual(s.Base.InboundPortsToIgnore, ports(t, "4190,4191")) ||
		len(s.Base.PortsToRedirect) != 1 || s.Base.InboundSubnetsToIgnore[0].String() != "10.1.2.3/16" {
		t.Errorf("config %+v", s.Base)
	}
}

func TestDecodeLogLevels(t *testing.T) {
	for in, want := range map[string]slog.Level{"": slog.LevelWarn, "Debug": slog.LevelDebug, "trace": slog.LevelDebug,
		"info": slog.LevelInfo, "warning": slog.LevelWarn, "panic": slog.LevelError, "loud": slog.LevelWarn} {
		s, err := Decode([]byte(`{"cniVersion":"1.0.0","name":"n","log_level":"` + in + `"}`))
		if err != nil || s.LogLevel != want {
			t.Errorf("log_level %q: %v %v, want %v", in, s.LogLevel, err, want)
		}
		if (in == "loud") != (len(s.Unknown) == 1) {
			t.Errorf("log_level %q: unknown %v", in, s.Unknown)
		}
	}
}

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		in     string
		ref    PodRef
		ok     bool
		errMsg string
	}{
		{"", PodRef{}, false, ""},
		{"IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u", PodRef{"ns", "web"}, true, ""},
		{"K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web;Unknown=1", PodRef{"ns", "web"}, true, ""},
		{"K8S_POD_NAMESPACE=ns", PodRef{Namespace: "ns"}, false, ""},
		{"K8S_POD_NAMESPACE=ns;K8S_POD_NAME=", PodRef{Namespace: "ns"}, false, ""},
		{"K8S_POD_NAMESPACE=ns;;K8S_POD_NAME=a=b", PodRef{"ns", "a=b"}, true, ""},
		{"K8S_POD_NAMESPACE=ns;K8S_POD_NAME", PodRef{}, false, `invalid CNI_ARGS: "K8S_POD_NAME"`},
		{"=x", PodRef{}, false, `invalid CNI_ARGS: "=x"`},
	} {
		ref, ok, err := ParseArgs(c.in)
		if c.errMsg != "" {
			var te *types.Error
			if !errors.As(err, &te) || te.Code != types.ErrInvalidEnvironmentVariables || !strings.Contains(te.Msg, c.errMsg) {
				t.Errorf("%q: error %v, want code 4 with %q", c.in, err, c.errMsg)
			}
			continue
		}
		if err != nil || ref != c.ref || ok != c.ok {
			t.Errorf("%q: %+v %v %v, want %+v %v", c.in, ref, ok, err, c.ref, c.ok)
		}
	}
}
