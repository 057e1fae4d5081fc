package repair

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/proxy-init/netlink-native/internal/cni"
)

// PluginTypes are the "type" values of the plugin's entry in a conflist:
// upstream's binary name (ours installed in its place) and ours.
var PluginTypes = []string{"linkerd-cni", "proxy-init-cni"}

// ErrNoPluginConfig is a configuration without the plugin's entry: the
// plugin is not installed (yet).
var ErrNoPluginConfig = errors.New("no linkerd-cni or proxy-init-cni entry")

// LoadCNISettings reads the plugin's entry from path, a .conflist, .conf or
// .json file or a directory of them (the first file in name order that has
// the entry, as the kubelet picks the first network), and decodes it as the
// plugin decodes its stdin, with the list's cniVersion and name, as the
// runtime passes them. It returns the file it used.
func LoadCNISettings(path string) (*cni.Settings, string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("read the CNI network configuration: %w", err)
	}
	if !fi.IsDir() {
		s, err := settingsFromFile(path)
		return s, path, err
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, "", fmt.Errorf("read the CNI network configuration directory: %w", err)
	}
	names := []string{}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".conflist" || ext == ".conf" || ext == ".json") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, n := range names {
		p := filepath.Join(path, n)
		s, err := settingsFromFile(p)
		if errors.Is(err, ErrNoPluginConfig) {
			continue
		}
		return s, p, err
	}
	return nil, "", fmt.Errorf("CNI network configuration directory %s: %w in any .conflist, .conf or .json file", path, ErrNoPluginConfig)
}

func settingsFromFile(path string) (*cni.Settings, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the CNI network configuration: %w", err)
	}
	entry, err := pluginEntry(raw)
	if err != nil {
		return nil, fmt.Errorf("CNI network configuration %s: %w", path, err)
	}
	s, err := cni.Decode(entry)
	if err != nil {
		return nil, fmt.Errorf("CNI network configuration %s, the plugin's entry: %w", path, err)
	}
	return s, nil
}

// pluginEntry finds the plugin's entry in a conflist ("plugins") or a
// single .conf, and gives it the list's cniVersion and name, as libcni
// does before calling a plugin.
func pluginEntry(raw []byte) ([]byte, error) {
	var list struct {
		CNIVersion string                       `json:"cniVersion"`
		Name       string                       `json:"name"`
		Type       string                       `json:"type"`
		Plugins    []map[string]json.RawMessage `json:"plugins"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if list.Plugins == nil {
		if slices.Contains(PluginTypes, list.Type) {
			return raw, nil
		}
		return nil, ErrNoPluginConfig
	}
	for _, p := range list.Plugins {
		var typ string
		if json.Unmarshal(p["type"], &typ) != nil || !slices.Contains(PluginTypes, typ) {
			continue
		}
		for k, v := range map[string]string{"cniVersion": list.CNIVersion, "name": list.Name} {
			if v != "" {
				p[k], _ = json.Marshal(v)
			}
		}
		return json.Marshal(p)
	}
	return nil, fmt.Errorf("%w among %s", ErrNoPluginConfig, strings.Join(typesOf(list.Plugins), ", "))
}

func typesOf(ps []map[string]json.RawMessage) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, string(p["type"]))
	}
	return out
}
