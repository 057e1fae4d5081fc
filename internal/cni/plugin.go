package cni

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/proxy-init/netlink-native/internal/logging"
	"github.com/proxy-init/netlink-native/internal/netns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/pod"
	"golang.org/x/sys/unix"
)

// Plugin carries out the CNI verbs. Each verb returns a *types.Error (or
// nil): the CNI skeleton prints it as the spec's error object.
type Plugin struct {
	// Stderr receives the logs (stdout is the runtime's).
	Stderr io.Writer
	// NewAPI reaches the Kubernetes API for a configuration; nil means the
	// kubeconfig and NewAPI's core/v1 REST client. Tests give a fake
	// clientset.
	NewAPI func(s *Settings) (API, error)
	// Engine, when set, is where the rules go instead of the kernel in
	// CNI_NETNS (which is then not opened): a *nat.Fake in unit tests.
	Engine nat.Engine
}

// target is where a verb acts: CNI_NETNS netns, or the Engine.
func (p *Plugin) target(netns string) Target {
	return Target{NetNS: netns, Engine: p.Engine}
}

func (p *Plugin) api(s *Settings) (API, error) {
	if p.NewAPI != nil {
		return p.NewAPI(s)
	}
	cfg, err := RESTConfig(s.Kubeconfig, s.Timeout)
	if err != nil {
		return nil, err
	}
	return NewAPI(cfg)
}

// invocation is what every verb starts from.
type invocation struct {
	s   *Settings
	log *slog.Logger
	ref PodRef
	pod bool // CNI_ARGS names a Kubernetes pod
}

func (p *Plugin) start(verb string, args *skel.CmdArgs) (*invocation, error) {
	s, err := Decode(args.StdinData)
	if err != nil {
		return nil, err
	}
	log := logging.New(p.Stderr, s.LogLevel, s.LogFormat == "json").With("verb", verb, "container", args.ContainerID)
	for _, k := range s.Unknown {
		log.Warn("unknown configuration key or value, ignored", "key", k)
	}
	for _, k := range s.Ignored {
		log.Debug("configuration key accepted and ignored: rules go to nf_tables over netlink, with no iptables binary or lock", "key", k)
	}
	ref, ok, err := ParseArgs(args.Args)
	if err != nil {
		return nil, err
	}
	if ok {
		log = log.With("pod", ref.Namespace+"/"+ref.Name)
	}
	return &invocation{s: s, log: log, ref: ref, pod: ok}, nil
}

// podAPI is the API client for the pod CNI_ARGS names; nil (logged) when
// it names none, which leaves the invocation nothing to do.
func (p *Plugin) podAPI(inv *invocation) (API, error) {
	if !inv.pod {
		inv.log.Info("no K8S_POD_NAMESPACE/K8S_POD_NAME in CNI_ARGS: not a Kubernetes pod, nothing to do")
		return nil, nil
	}
	return p.api(inv.s)
}

// Add installs the pod's rules in CNI_NETNS and returns the result to print:
// prevResult unchanged, or an empty result without one.
func (p *Plugin) Add(args *skel.CmdArgs) (types.Result, error) {
	inv, err := p.start("ADD", args)
	if err != nil {
		return nil, err
	}
	api, err := p.podAPI(inv)
	if err != nil {
		return nil, err
	}
	if api != nil {
		if _, err := Program(context.Background(), api, inv.ref, inv.s, p.target(args.Netns), inv.log); err != nil {
			return nil, err
		}
	}
	return passThrough(inv.s)
}

// passThrough is prevResult in the configuration's version, or an empty
// result when this plugin runs alone.
func passThrough(s *Settings) (types.Result, error) {
	r := s.Conf.PrevResult
	if r == nil {
		r = &current.Result{CNIVersion: current.ImplementedSpecVersion}
	}
	out, err := r.GetAsVersion(s.Conf.CNIVersion)
	if err != nil {
		return nil, types.NewError(types.ErrIncompatibleCNIVersion, fmt.Sprintf("convert the result to cniVersion %q: %v", s.Conf.CNIVersion, err), "")
	}
	return out, nil
}

// Del removes our tables from CNI_NETNS. It succeeds when there is nothing
// to remove: no namespace given, the namespace gone (or only its unmounted
// file left) or no tables, as the spec asks of DEL. It needs neither the
// API nor a valid linkerd section, so a pod can always be torn down.
func (p *Plugin) Del(args *skel.CmdArgs) error {
	var log *slog.Logger
	if inv, err := p.start("DEL", args); err == nil {
		log = inv.log
	} else {
		log = logging.New(p.Stderr, slog.LevelWarn, false).With("verb", "DEL", "container", args.ContainerID)
		log.Warn("configuration refused; removing the rules anyway", "error", err)
	}
	if args.Netns == "" && p.Engine == nil {
		log.Info("no CNI_NETNS: nothing to remove")
		return nil
	}
	t := p.target(args.Netns)
	f, err := t.open()
	if err != nil {
		if errors.Is(err, errOwnNetNS) {
			return netnsError(err)
		}
		log.Info("CNI_NETNS is gone: nothing to remove", "netns", args.Netns, "error", err)
		return nil
	}
	defer f.Close()
	// Remove reads no configuration: a pod can always be torn down.
	if _, err := pod.Remove(context.Background(), t.at(f, log)); err != nil {
		return runError(err, nil)
	}
	return nil
}

// Check compares the live rules of a meshed pod with its configuration, read
// again from the API; a difference is CodeMismatch with the diff as details.
func (p *Plugin) Check(args *skel.CmdArgs) error {
	inv, err := p.start("CHECK", args)
	if err != nil {
		return err
	}
	api, err := p.podAPI(inv)
	if err != nil || api == nil {
		return err
	}
	d, err := decidePod(context.Background(), api, inv.ref, inv.s, inv.log)
	if err != nil || d == nil {
		return err
	}
	// A dry run's ADD installed nothing, so nothing is expected: comparing
	// would fail every simulated pod's CHECK with a "difference" ADD chose.
	if inv.s.Simulate {
		inv.log.Info("linkerd.simulate: ADD installed nothing, so there is nothing to check")
		return nil
	}
	t := p.target(args.Netns)
	f, err := t.open()
	if err != nil {
		return netnsError(err)
	}
	defer f.Close()
	res, err := pod.Verify(context.Background(), t.at(f, inv.log), d.Config)
	if err != nil {
		return runError(err, d)
	}
	if diff := res.Changes.String(); diff != "" {
		return types.NewError(CodeMismatch, "the pod's live rules differ from its configuration (- configured, + live)", diff)
	}
	return nil
}

// Status reports the plugin ready when the configuration decodes and the
// kubeconfig can be read; it does not call the API, whose outages ADD
// reports itself with code 11.
func (p *Plugin) Status(args *skel.CmdArgs) error {
	s, err := Decode(args.StdinData)
	if err != nil {
		return err
	}
	if _, err := RESTConfig(s.Kubeconfig, s.Timeout); err != nil {
		var te *types.Error
		msg := err.Error()
		if errors.As(err, &te) {
			msg = te.Msg
		}
		return types.NewError(CodeNotAvailable, "not ready: "+msg, "")
	}
	return nil
}

// GC has nothing to collect: the rules live in the pod's namespace and die
// with it.
func (p *Plugin) GC(args *skel.CmdArgs) error {
	_, err := Decode(args.StdinData)
	return err
}

// openPodNetNS opens CNI_NETNS and refuses the plugin's own namespace (the
// node's): installing there would redirect the node's traffic. It also
// fails for a path that cannot be opened or is not a namespace.
func openPodNetNS(path string) (*os.File, error) {
	f, err := netns.Open(path)
	if err != nil {
		return nil, err
	}
	var theirs, ours unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &theirs); err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if err := unix.Stat("/proc/self/ns/net", &ours); err != nil {
		f.Close()
		return nil, fmt.Errorf("read the plugin's own network namespace: %w", err)
	}
	if theirs.Dev == ours.Dev && theirs.Ino == ours.Ino {
		f.Close()
		return nil, fmt.Errorf("%s %w", path, errOwnNetNS)
	}
	return f, nil
}

// errOwnNetNS is why openPodNetNS refuses the plugin's own namespace.
var errOwnNetNS = errors.New("is the plugin's own network namespace (the node's), not a pod's")

// netnsError is CNI error 4 naming CNI_NETNS.
func netnsError(err error) error {
	return types.NewError(types.ErrInvalidEnvironmentVariables, "CNI_NETNS: "+err.Error(), "")
}
