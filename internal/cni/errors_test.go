package cni

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/proxy-init/netlink-native/nat"
	"golang.org/x/sys/unix"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func code(t *testing.T, err error) uint {
	t.Helper()
	var te *types.Error
	if !errors.As(err, &te) {
		t.Fatalf("%v is not a CNI error", err)
	}
	return te.Code
}

func TestAPIErrorCodes(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	for _, c := range []struct {
		err  error
		want uint
	}{
		{apierrors.NewInternalError(errors.New("x")), types.ErrTryAgainLater},
		{apierrors.NewServiceUnavailable("x"), types.ErrTryAgainLater},
		{apierrors.NewTooManyRequests("x", 1), types.ErrTryAgainLater},
		{apierrors.NewTimeoutError("x", 1), types.ErrTryAgainLater},
		{apierrors.NewNotFound(pods, "web"), CodeAPIRefused},
		{apierrors.NewForbidden(pods, "web", errors.New("rbac")), CodeAPIRefused},
		{apierrors.NewUnauthorized("x"), CodeAPIRefused},
		{&url.Error{Op: "Get", URL: "https://x", Err: unix.ECONNREFUSED}, types.ErrTryAgainLater},
		{context.DeadlineExceeded, types.ErrTryAgainLater},
		{&url.Error{Op: "Get", URL: "https://x", Err: x509.UnknownAuthorityError{}}, CodeAPIRefused},
		{errors.New("decode the pods: invalid character '<'"), CodeAPIRefused},
		{types.NewError(types.ErrInvalidNetworkConfig, "annotation", ""), types.ErrInvalidNetworkConfig},
	} {
		if got := code(t, apiError(fmt.Errorf("read pod: %w", c.err))); got != c.want {
			t.Errorf("%v: code %d, want %d", c.err, got, c.want)
		}
	}
}

func TestRunErrorCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want uint
	}{
		{&nat.KernelError{Err: unix.EPERM, Hint: "needs CAP_NET_ADMIN"}, CodeKernel},
		{&nat.ConfigError{Field: nat.FieldNetNS, Value: "/x", Reason: "not a network namespace"}, types.ErrInvalidEnvironmentVariables},
		{&nat.ConfigError{Field: nat.FieldProxyUID, Value: "1", Reason: "r"}, types.ErrInvalidNetworkConfig},
		{errors.New("other"), types.ErrInternal},
	} {
		if got := code(t, runError(c.err, nil)); got != c.want {
			t.Errorf("%v: code %d, want %d", c.err, got, c.want)
		}
	}
}

// TestEveryFieldHasAKey: every setting of nat.Config, and linkerd.simulate,
// is named by its linkerd.* key when nat refuses it (the plugin used to
// rewrite proxy-init's flag strings into keys with a regular expression).
func TestEveryFieldHasAKey(t *testing.T) {
	// Up to the first value nat has no name for, so that a Field added
	// after FieldCloseWaitSecs is checked too.
	for f := nat.FieldOther + 1; !strings.HasPrefix(f.String(), "field("); f++ {
		switch f {
		case nat.FieldRuleset, nat.FieldNetNS, nat.FieldCloseWaitSecs: // no key: a plan, CNI_NETNS, not a CNI setting
			continue
		}
		err := configError(&nat.ConfigError{Field: f, Value: "v", Reason: "r"}, nil)
		if want := `invalid value "v" for linkerd.`; !strings.Contains(err.Error(), want) {
			t.Errorf("nat.%v: %v; want %s...", f, err, want)
		}
	}
}
