package repair

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/proxy-init/netlink-native/nat"
)

// Mode is what the controller does to a pod whose validator exited 95.
type Mode string

const (
	// ModeDelete deletes the pod (grace period 0) so its owner recreates
	// it: upstream's behaviour and the default.
	ModeDelete Mode = "delete"
	// ModeInPlace installs the pod's rules from the node and lets the
	// kubelet re-run the validator.
	ModeInPlace Mode = "in-place"
)

// Defaults of Options.
const (
	// DefaultQueueCapacity bounds the work queue. Its items are pod keys
	// (deduplicated), so a capacity far above a node's pod count costs
	// little; upstream's 32 would drop most of a node's pods when the
	// plugin was late for all of them (node boot). A dropped pod is retried
	// at its next crash-loop restart, as upstream relies on.
	DefaultQueueCapacity = 1024
	// DefaultWorkers is how many pods are acted on at once.
	DefaultWorkers = 2
	// DefaultMaxRetries bounds the retries of one failure (API errors,
	// time-outs); the next restart of the validator starts again.
	DefaultMaxRetries = 5
	// DefaultCallTimeout is upstream's bound on a delete and on an event.
	DefaultCallTimeout = time.Second
	// DefaultRepairTimeout bounds an in-place repair: runtime lookup, API
	// reads and the rules' transaction.
	DefaultRepairTimeout = 10 * time.Second
)

// Options configure a Controller. NodeName and ControllerPodName are
// required; zero values of the rest take the defaults above.
type Options struct {
	// NodeName is the node whose pods are watched (spec.nodeName).
	NodeName string
	// ControllerPodName is the events' reportingInstance.
	ControllerPodName string
	// Mode is ModeDelete (the default) or ModeInPlace.
	Mode Mode
	// Metrics are where counts go; nil: a set registered nowhere.
	Metrics *Metrics
	// Logger receives one line per decision; nil discards them.
	Logger *slog.Logger

	QueueCapacity int
	Workers       int
	MaxRetries    int
	// DeleteTimeout and EventTimeout bound each call (upstream: 1 s).
	DeleteTimeout time.Duration
	EventTimeout  time.Duration

	// InPlace configures ModeInPlace.
	InPlace InPlaceOptions
}

// InPlaceOptions are ModeInPlace's.
type InPlaceOptions struct {
	// CNIConfig is the CNI network configuration holding the plugin's
	// entry (type linkerd-cni or proxy-init-cni): a .conflist, .conf or
	// .json file, or a directory searched as the kubelet does (the first file in
	// name order with such an entry). Read at each repair, so that the
	// configuration the plugin was installed with after the controller
	// started is the one used. Required.
	CNIConfig string
	// Sandboxes finds a pod's network namespace: a *CRI, or a fake.
	// Required.
	Sandboxes SandboxFinder
	// Engine, when set, is where the rules go instead of the namespace
	// Sandboxes found (a *nat.Fake in tests without root).
	Engine nat.Engine
	// Timeout bounds one repair (DefaultRepairTimeout).
	Timeout time.Duration
}

// ErrOptions is the class of Options errors.
var ErrOptions = errors.New("invalid repair controller options")

func (o *Options) withDefaults() (Options, error) {
	out := *o
	if out.NodeName == "" {
		return out, fmt.Errorf("%w: the node name is empty", ErrOptions)
	}
	if out.ControllerPodName == "" {
		return out, fmt.Errorf("%w: the controller pod name is empty (the events' reportingInstance)", ErrOptions)
	}
	switch out.Mode {
	case "":
		out.Mode = ModeDelete
	case ModeDelete:
	case ModeInPlace:
		if out.InPlace.CNIConfig == "" {
			return out, fmt.Errorf("%w: in-place mode needs the CNI network configuration's path", ErrOptions)
		}
		if out.InPlace.Sandboxes == nil {
			return out, fmt.Errorf("%w: in-place mode needs the container runtime (a SandboxFinder)", ErrOptions)
		}
	default:
		return out, fmt.Errorf("%w: mode %q (must be %s or %s)", ErrOptions, out.Mode, ModeDelete, ModeInPlace)
	}
	if out.Metrics == nil {
		out.Metrics = NewMetrics(nil)
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	orDefault(&out.QueueCapacity, DefaultQueueCapacity)
	orDefault(&out.Workers, DefaultWorkers)
	orDefault(&out.MaxRetries, DefaultMaxRetries)
	orDefault(&out.DeleteTimeout, DefaultCallTimeout)
	orDefault(&out.EventTimeout, DefaultCallTimeout)
	orDefault(&out.InPlace.Timeout, DefaultRepairTimeout)
	return out, nil
}

// orDefault sets *v to d when it is zero or negative (an unset option).
func orDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}
