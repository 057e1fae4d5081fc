package cniinstall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"strconv"
)

// DefaultServiceAccountDir is where Kubernetes mounts a pod's service
// account token and CA (upstream reads the same directory).
const DefaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// kubeconfigPlaceholder in the configured entry is replaced by the path
// of the kubeconfig as the plugin sees it, on the host.
const kubeconfigPlaceholder = "__KUBECONFIG_FILEPATH__"

// The environment, with upstream's names and defaults.
var envDefaults = map[string]string{
	"DEST_CNI_BIN_DIR":       "/opt/cni/bin",
	"DEST_CNI_NET_DIR":       "/etc/cni/net.d",
	"CONTAINER_CNI_BIN_DIR":  "/opt/cni/bin",
	"CONTAINER_MOUNT_PREFIX": "/host",
	"KUBECONFIG_FILE_NAME":   "ZZZ-linkerd-cni-kubeconfig",
}

// Config is what the installer does, read from the environment by Load.
type Config struct {
	// HostBinDir and HostNetDir are the host's CNI directories as this
	// container sees them (CONTAINER_MOUNT_PREFIX + DEST_CNI_*_DIR).
	HostBinDir, HostNetDir string
	// MountPrefix is where the host's directories are mounted: an absolute
	// symlink in the net directory names a host path below it.
	MountPrefix string
	// ContainerBinDir holds the binaries copied to HostBinDir.
	ContainerBinDir string
	// Kubeconfig is the kubeconfig's path in this container; KubeconfigOnHost
	// is the same file as the plugin, on the host, opens it.
	Kubeconfig, KubeconfigOnHost string
	// ServiceAccountDir holds token and ca.crt, swapped by the kubelet
	// through its ..data symlink.
	ServiceAccountDir string
	// CAFile is KUBE_CA_FILE, else ServiceAccountDir/ca.crt.
	CAFile string
	// Server is the API server's URL written into the kubeconfig.
	Server string
	// KubeconfigMode is the kubeconfig's mode: KUBECONFIG_MODE, octal, as
	// upstream's former shell installer read it, 0600 by default.
	KubeconfigMode fs.FileMode
	// SkipTLSVerify writes insecure-skip-tls-verify instead of the CA
	// (SKIP_TLS_VERIFY=true, the shell installer's).
	SkipTLSVerify bool
	// Entry is the configured conflist entry, compact JSON with the
	// kubeconfig placeholder replaced; EntryType is its "type", which
	// identifies our entry in a conflist.
	Entry     []byte
	EntryType string
}

// ConfigError is a bad or missing setting: Key names the environment
// variable (or file) and Value what it held.
type ConfigError struct {
	Key, Value, Reason string
	Err                error
}

func (e *ConfigError) Error() string {
	msg := fmt.Sprintf("invalid %s %q: %s", e.Key, e.Value, e.Reason)
	if e.Value == "" {
		msg = fmt.Sprintf("invalid %s: %s", e.Key, e.Reason)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Load reads the configuration from getenv (os.Getenv in production) and
// checks it without writing anything: a bad entry, a missing API address
// or a missing directory is refused here, before the node is touched.
// saDir is the service account directory (DefaultServiceAccountDir).
func Load(getenv func(string) string, saDir string) (Config, error) {
	get := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return envDefaults[k]
	}
	prefix := get("CONTAINER_MOUNT_PREFIX")
	netDir := get("DEST_CNI_NET_DIR")
	c := Config{
		HostBinDir:        path.Join(prefix, get("DEST_CNI_BIN_DIR")),
		HostNetDir:        path.Join(prefix, netDir),
		MountPrefix:       prefix,
		ContainerBinDir:   get("CONTAINER_CNI_BIN_DIR"),
		Kubeconfig:        path.Join(prefix, netDir, get("KUBECONFIG_FILE_NAME")),
		KubeconfigOnHost:  path.Join(netDir, get("KUBECONFIG_FILE_NAME")),
		ServiceAccountDir: saDir,
		CAFile:            get("KUBE_CA_FILE"),
	}
	if c.CAFile == "" {
		c.CAFile = path.Join(saDir, "ca.crt")
	}
	server, err := serverURL(getenv("KUBERNETES_SERVICE_PROTOCOL"), getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT"))
	if err != nil {
		return Config{}, err
	}
	c.Server = server
	c.KubeconfigMode = kubeconfigMode
	if m := getenv("KUBECONFIG_MODE"); m != "" {
		v, err := strconv.ParseUint(m, 8, 32)
		if err != nil || v > 0o777 {
			return Config{}, &ConfigError{Key: "KUBECONFIG_MODE", Value: m, Reason: "not an octal file mode (600)"}
		}
		c.KubeconfigMode = fs.FileMode(v)
	}
	switch v := getenv("SKIP_TLS_VERIFY"); v {
	case "true":
		c.SkipTLSVerify = true
	case "", "false":
	default:
		return Config{}, &ConfigError{Key: "SKIP_TLS_VERIFY", Value: v, Reason: "must be true or false"}
	}
	if c.Entry, c.EntryType, err = loadEntry(getenv, c.KubeconfigOnHost); err != nil {
		return Config{}, err
	}
	for _, d := range []struct{ key, dir string }{
		{"DEST_CNI_BIN_DIR", c.HostBinDir}, {"DEST_CNI_NET_DIR", c.HostNetDir}, {"CONTAINER_CNI_BIN_DIR", c.ContainerBinDir},
	} {
		fi, err := os.Stat(d.dir)
		if err == nil && !fi.IsDir() {
			return Config{}, &ConfigError{Key: d.key, Value: d.dir, Reason: "not a directory"}
		}
		if err != nil {
			return Config{}, &ConfigError{Key: d.key, Value: d.dir, Reason: "cannot read the directory", Err: err}
		}
	}
	return c, nil
}

// serverURL joins host and port into the API server's URL. An IPv6
// address gets its brackets (upstream writes https://fd00::1:443, which no
// client can parse).
func serverURL(scheme, host, port string) (string, error) {
	switch scheme {
	case "":
		scheme = "https"
	case "https", "http":
	default:
		return "", &ConfigError{Key: "KUBERNETES_SERVICE_PROTOCOL", Value: scheme, Reason: "must be https or http"}
	}
	if host == "" {
		return "", &ConfigError{Key: "KUBERNETES_SERVICE_HOST", Reason: "not set (Kubernetes sets it in every container)"}
	}
	if port == "" {
		return "", &ConfigError{Key: "KUBERNETES_SERVICE_PORT", Reason: "not set (Kubernetes sets it in every container)"}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", &ConfigError{Key: "KUBERNETES_SERVICE_PORT", Value: port, Reason: "not a port number"}
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// loadEntry reads the entry as upstream chooses it: CNI_NETWORK_CONFIG when
// set, else the file CNI_NETWORK_CONFIG_FILE. It must be a JSON object with
// a "type" (the plugin the runtime runs, and how we find our entry again).
func loadEntry(getenv func(string) string, kubeconfigOnHost string) ([]byte, string, error) {
	key, data := "CNI_NETWORK_CONFIG", []byte(getenv("CNI_NETWORK_CONFIG"))
	if len(bytes.TrimSpace(data)) == 0 {
		file := getenv("CNI_NETWORK_CONFIG_FILE")
		if file == "" {
			return nil, "", &ConfigError{Key: "CNI_NETWORK_CONFIG", Reason: "neither it nor CNI_NETWORK_CONFIG_FILE is set"}
		}
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return nil, "", &ConfigError{Key: "CNI_NETWORK_CONFIG_FILE", Value: file, Reason: "cannot read it", Err: err}
		}
		key = "CNI_NETWORK_CONFIG_FILE " + file
	}
	// Replaced inside the JSON text, as upstream does: the placeholder is a
	// string value, and the path has no character JSON would escape.
	data = bytes.ReplaceAll(data, []byte(kubeconfigPlaceholder), []byte(kubeconfigOnHost))
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, "", &ConfigError{Key: key, Reason: "not a JSON object", Err: err}
	}
	var typ string
	if raw, ok := obj["type"]; !ok || json.Unmarshal(raw, &typ) != nil || typ == "" {
		return nil, "", &ConfigError{Key: key, Reason: `needs a "type" string (the plugin's name, linkerd-cni)`}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		return nil, "", &ConfigError{Key: key, Reason: "not JSON", Err: err}
	}
	return compact.Bytes(), typ, nil
}
