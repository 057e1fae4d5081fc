// Package cni is the logic of the proxy-init CNI plugin, a drop-in for
// linkerd-cni's binary: it decodes the plugin's network configuration (the
// same keys as upstream's), decides from the Kubernetes API whether and how
// a pod is meshed, and hands the result to nat/pod, the one pod-setup
// sequence. cmd/proxy-init-cni only wires it to the CNI skeleton.
package cni

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/proxy-init/netlink-native/internal/logging"
	"github.com/proxy-init/netlink-native/nat"
)

// DefaultTimeout bounds every Kubernetes API request when the configuration
// gives no kubernetes.timeout: long enough for a busy API server, short
// enough that the runtime's own deadline for a sandbox is not reached first.
const DefaultTimeout = 5 * time.Second

// maxTimeout caps kubernetes.timeout: a pod creation should never wait on us
// for longer than this.
const maxTimeout = 60 * time.Second

// netConf is the JSON on stdin: the standard CNI fields plus upstream
// linkerd-cni's sections, with its key names and types.
type netConf struct {
	types.PluginConf
	LogLevel   string `json:"log_level"`
	LogFormat  string `json:"log_format"`
	Kubernetes struct {
		Kubeconfig string `json:"kubeconfig"`
		// K8sAPIRoot is written by linkerd's installer; upstream does not
		// use it either (the kubeconfig names the server).
		K8sAPIRoot string `json:"k8s_api_root"`
		Timeout    string `json:"timeout"`
	} `json:"kubernetes"`
	Linkerd linkerdConf `json:"linkerd"`
	// Policy is written by linkerd's installer and unused upstream.
	Policy json.RawMessage `json:"policy"`
}

// linkerdConf is upstream's "linkerd" section. Pointers tell an absent key
// from a zero value, so absent keys take proxy-init's defaults.
type linkerdConf struct {
	IncomingProxyPort       *int     `json:"incoming-proxy-port"`
	OutgoingProxyPort       *int     `json:"outgoing-proxy-port"`
	ProxyUID                *int64   `json:"proxy-uid"`
	ProxyGID                *int64   `json:"proxy-gid"`
	PortsToRedirect         []int    `json:"ports-to-redirect"`
	InboundPortsToIgnore    []string `json:"inbound-ports-to-ignore"`
	OutboundPortsToIgnore   []string `json:"outbound-ports-to-ignore"`
	SubnetsToIgnore         []string `json:"subnets-to-ignore"`
	OutboundSubnetsToIgnore []string `json:"outbound-subnets-to-ignore"`
	Simulate                bool     `json:"simulate"`
	UseWaitFlag             bool     `json:"use-wait-flag"`
	IPTablesMode            string   `json:"iptables-mode"`
	IPv6                    *bool    `json:"ipv6"`
}

// linkerdKeys are the keys of the "linkerd" section we know; any other is
// logged, since a misspelt key would otherwise be silently ignored.
var linkerdKeys = map[string]bool{
	"incoming-proxy-port": true, "outgoing-proxy-port": true, "proxy-uid": true, "proxy-gid": true,
	"ports-to-redirect": true, "inbound-ports-to-ignore": true, "outbound-ports-to-ignore": true,
	"subnets-to-ignore": true, "outbound-subnets-to-ignore": true, "simulate": true,
	"use-wait-flag": true, "iptables-mode": true, "ipv6": true,
}

// Settings is the decoded configuration of one invocation.
type Settings struct {
	// Conf holds the standard fields, with PrevResult parsed.
	Conf types.PluginConf
	// Base is the pod configuration before the pod's annotations.
	Base nat.Config
	// Simulate logs the ruleset instead of installing it (linkerd.simulate).
	Simulate bool
	// Kubeconfig is the path of the kubeconfig (kubernetes.kubeconfig).
	Kubeconfig string
	// Timeout bounds each API request (kubernetes.timeout).
	Timeout time.Duration
	// LogLevel and LogFormat are log_level and log_format.
	LogLevel  slog.Level
	LogFormat string
	// Unknown lists the keys of the linkerd section we do not know, and a
	// log_level that names no level: logged, not refused.
	Unknown []string
	// Ignored lists the upstream keys that were set but mean nothing here.
	Ignored []string
}

// keyOf is the configuration key of each setting nat and nat/pod name by
// its nat.Field in a *nat.ConfigError.
var keyOf = map[nat.Field]string{
	nat.FieldInboundProxyPort:        "linkerd.incoming-proxy-port",
	nat.FieldOutboundProxyPort:       "linkerd.outgoing-proxy-port",
	nat.FieldProxyUID:                "linkerd.proxy-uid",
	nat.FieldProxyGID:                "linkerd.proxy-gid",
	nat.FieldPortsToRedirect:         "linkerd.ports-to-redirect",
	nat.FieldInboundPortsToIgnore:    "linkerd.inbound-ports-to-ignore",
	nat.FieldOutboundPortsToIgnore:   "linkerd.outbound-ports-to-ignore",
	nat.FieldInboundSubnetsToIgnore:  "linkerd.subnets-to-ignore",
	nat.FieldOutboundSubnetsToIgnore: "linkerd.outbound-subnets-to-ignore",
}

// Decode reads the network configuration. Undecodable JSON is a CNI error 6;
// a value of the wrong type or out of range is a CNI error 7 naming the key.
func Decode(stdin []byte) (*Settings, error) {
	var c netConf
	dec := json.NewDecoder(bytes.NewReader(stdin))
	if err := dec.Decode(&c); err != nil {
		return nil, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, types.NewError(types.ErrDecodingFailure, "decode network configuration: trailing data after the JSON object", "")
	}
	s := &Settings{Conf: c.PluginConf, Kubeconfig: c.Kubernetes.Kubeconfig, Simulate: c.Linkerd.Simulate}
	if err := version.ParsePrevResult(&s.Conf); err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, "decode prevResult: "+err.Error(), "")
	}
	var known bool
	if s.LogLevel, known = parseLevel(c.LogLevel); !known {
		s.Unknown = append(s.Unknown, fmt.Sprintf("log_level=%q (logging at warn, as upstream)", c.LogLevel))
	}
	switch c.LogFormat {
	case "", "plain", "json":
		s.LogFormat = c.LogFormat
	default:
		return nil, invalid("log_format", c.LogFormat, "must be plain or json")
	}
	var err error
	s.Timeout = DefaultTimeout
	if t := c.Kubernetes.Timeout; t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 || d > maxTimeout {
			return nil, invalid("kubernetes.timeout", t, fmt.Sprintf("must be a duration such as 5s, above 0 and at most %v", maxTimeout))
		}
		s.Timeout = d
	}
	if s.Base, err = c.Linkerd.config(); err != nil {
		return nil, err
	}
	// Validated here, so that a bad configuration fails every pod alike,
	// meshed or not, and names the key.
	if err := s.Base.Validate(); err != nil {
		return nil, configError(err, nil)
	}
	if c.Linkerd.UseWaitFlag {
		s.Ignored = append(s.Ignored, "linkerd.use-wait-flag")
	}
	if c.Linkerd.IPTablesMode != "" {
		s.Ignored = append(s.Ignored, "linkerd.iptables-mode")
	}
	s.Unknown = append(s.Unknown, unknownKeys(stdin)...)
	return s, nil
}

// decodeError tells a value of the wrong type (7, naming the key) from JSON
// that does not parse (6).
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		if strings.HasPrefix(te.Value, "number ") { // 41.5 or 1e10 for an integer
			return invalid(te.Field, strings.TrimPrefix(te.Value, "number "), "must be an integer in range")
		}
		return types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("invalid value for %s: a JSON %s, must be a JSON %s", te.Field, te.Value, jsonType(te.Type.Kind().String())), "")
	}
	return types.NewError(types.ErrDecodingFailure, "decode network configuration: "+err.Error(), "")
}

func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "slice":
		return "array"
	case kind == "struct", kind == "map":
		return "object"
	}
	return kind
}

func unknownKeys(stdin []byte) []string {
	var raw struct {
		Linkerd map[string]json.RawMessage `json:"linkerd"`
	}
	if json.Unmarshal(stdin, &raw) != nil {
		return nil
	}
	var out []string
	for k := range raw.Linkerd {
		if !linkerdKeys[k] {
			out = append(out, "linkerd."+k)
		}
	}
	return out
}

// parseLevel reads log_level as upstream does: its default (empty) is warn,
// since a plugin that logs every pod at info floods the runtime's log; a
// value that names no level is reported by the caller rather than refused,
// since upstream runs with it.
func parseLevel(s string) (lv slog.Level, known bool) {
	if s == "" {
		return slog.LevelWarn, true
	}
	lv, err := logging.ParseLevel(s)
	if err != nil {
		return slog.LevelWarn, false
	}
	return lv, true
}

// config turns the linkerd section into a nat.Config. Absent keys take
// proxy-init's defaults, except ipv6: an upstream configuration without it
// (written before the key existed) programmed IPv4 only.
func (l linkerdConf) config() (nat.Config, error) {
	c := nat.DefaultConfig()
	c.IPv6 = l.IPv6 != nil && *l.IPv6
	for _, p := range []struct {
		key string
		v   *int
		dst *uint16
	}{
		{"incoming-proxy-port", l.IncomingProxyPort, &c.InboundProxyPort},
		{"outgoing-proxy-port", l.OutgoingProxyPort, &c.OutboundProxyPort},
	} {
		if p.v == nil {
			continue
		}
		if *p.v < 1 || *p.v > 65535 {
			return c, invalid("linkerd."+p.key, fmt.Sprint(*p.v), "must be a port between 1 and 65535")
		}
		*p.dst = uint16(*p.v)
	}
	// Any id <= 0 means no exception, as upstream's "> 0" test makes it;
	// nat's Validate refuses one too large for the kernel.
	if l.ProxyUID != nil {
		c.ProxyUID = *l.ProxyUID
	}
	if l.ProxyGID != nil {
		c.ProxyGID = *l.ProxyGID
	}
	for _, p := range l.PortsToRedirect {
		// 0 is accepted in port lists, as proxy-init's flags accept it.
		if p < 0 || p > 65535 {
			return c, invalid("linkerd.ports-to-redirect", fmt.Sprint(p), "must be a port between 0 and 65535")
		}
		c.PortsToRedirect = append(c.PortsToRedirect, nat.PortRange{First: uint16(p), Last: uint16(p)})
	}
	var err error
	if c.InboundPortsToIgnore, err = listItems("linkerd.inbound-ports-to-ignore", l.InboundPortsToIgnore, nat.ParsePortRange); err != nil {
		return c, err
	}
	if c.OutboundPortsToIgnore, err = listItems("linkerd.outbound-ports-to-ignore", l.OutboundPortsToIgnore, nat.ParsePortRange); err != nil {
		return c, err
	}
	if c.InboundSubnetsToIgnore, err = listItems("linkerd.subnets-to-ignore", l.SubnetsToIgnore, nat.ParsePrefix); err != nil {
		return c, err
	}
	c.OutboundSubnetsToIgnore, err = listItems("linkerd.outbound-subnets-to-ignore", l.OutboundSubnetsToIgnore, nat.ParsePrefix)
	return c, err
}

// listItems parses a JSON array of strings whose items are ports, ranges or
// CIDRs with nat.ParseList, the one list-item parser, so that the keys read
// as proxy-init's flags do: an item may itself be a comma-separated list (as
// an annotation is), and empty items are skipped, as upstream skips them.
func listItems[T any](key string, items []string, parse func(string) (T, error)) ([]T, error) {
	var all []string
	for _, it := range items {
		all = append(all, nat.SplitList(it)...)
	}
	out, err := nat.ParseList(all, parse)
	var ie *nat.ListItemError
	if errors.As(err, &ie) {
		return nil, invalid(key, ie.Item, ie.Err.Error())
	}
	return out, err
}

// invalid is CNI error 7 naming the key and the value, in the words
// proxy-init uses for a flag.
func invalid(key, value, reason string) *types.Error {
	return types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("invalid value %q for %s: %s", value, key, reason), "")
}

// configError turns nat's *ConfigError, which names a nat.Field, into CNI
// error 7 naming where the value came from: the configuration key, or the
// annotation that replaced it (origin maps fields to their source).
func configError(err error, origin map[nat.Field]string) error {
	var ce *nat.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	where := origin[ce.Field]
	if where == "" {
		where = keyOf[ce.Field]
	}
	if where == "" { // a setting no key sets: nat's own name for it
		where = ce.Field.String()
	}
	return invalid(where, ce.Value, ce.Reason)
}
