package cni

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/proxy-init/netlink-native/nat"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// The plugin's own CNI error codes (the spec leaves 100 and up to plugins);
// docs/cni.md lists them with the spec's.
const (
	// CodeAPIRefused: the Kubernetes API answered, but refused the request
	// (401, 403, 404, other 4xx) or with something that is not a Kubernetes
	// object; retrying will not help until an operator fixes it.
	CodeAPIRefused uint = 100
	// CodeKernel: the kernel refused the rules; nothing was changed.
	CodeKernel uint = 101
	// CodeMismatch: CHECK found live rules that differ from the pod's
	// configuration; the details hold the diff.
	CodeMismatch uint = 102
	// CodeNotAvailable is the spec's "plugin not available" (STATUS).
	CodeNotAvailable uint = 50
)

// apiError classifies an error from reading the Kubernetes API: transient
// conditions (unreachable, timed out, 5xx, 429) are 11 so the runtime tries
// again; the rest need an operator.
func apiError(err error) error {
	var te *types.Error
	if errors.As(err, &te) {
		return err
	}
	code := CodeAPIRefused
	hint := ""
	var se apierrors.APIStatus
	var ue *url.Error
	switch {
	case errors.As(err, &se):
		c := se.Status().Code
		if c >= 500 || c == 429 || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) {
			code, hint = types.ErrTryAgainLater, "the API server is failing; the runtime will try again"
		} else if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
			hint = "the kubeconfig's credentials may not read pods and namespaces (linkerd-cni's ClusterRole)"
		} else if apierrors.IsNotFound(err) {
			hint = "the API does not know it: deleted meanwhile, or kubernetes.kubeconfig names another cluster"
		} else {
			hint = "the API server refused the request"
		}
	case isX509(err):
		hint = "the kubeconfig's certificate authority does not match the API server"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.As(err, &ue):
		code, hint = types.ErrTryAgainLater, "the Kubernetes API did not answer in time or could not be reached; the runtime will try again"
	default:
		hint = "the answer is not a Kubernetes object: is kubernetes.kubeconfig's server the API server?"
	}
	return types.NewError(code, fmt.Sprintf("%v (%s)", err, hint), "")
}

func isX509(err error) bool {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var he x509.HostnameError
	return errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he)
}

// runError classifies an error of nat/pod: the namespace is CNI_NETNS (4),
// configuration errors name their key or annotation (7), kernel refusals are
// CodeKernel.
func runError(err error, d *Decision) error {
	var ce *nat.ConfigError
	if errors.As(err, &ce) && ce.Field == nat.FieldNetNS {
		return types.NewError(types.ErrInvalidEnvironmentVariables, fmt.Sprintf("CNI_NETNS %q: %s", ce.Value, ce.Reason), "")
	}
	if errors.As(err, &ce) {
		if d == nil {
			return configError(err, nil)
		}
		return d.ConfigError(err)
	}
	var ke *nat.KernelError
	if errors.As(err, &ke) {
		return types.NewError(CodeKernel, "the kernel refused the pod's rules (nothing was changed): "+err.Error(), "")
	}
	return types.NewError(types.ErrInternal, err.Error(), "")
}
