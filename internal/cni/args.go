package cni

import (
	"strconv"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

// PodRef names the pod a runtime is setting up, from CNI_ARGS.
type PodRef struct {
	Namespace, Name string
}

// ParseArgs reads K8S_POD_NAMESPACE and K8S_POD_NAME from CNI_ARGS
// ("K=V;K=V"); other keys (K8S_POD_UID, IgnoreUnknown, ...) are ignored,
// whatever IgnoreUnknown says, since every runtime adds keys of its own.
// A pair without "=" is CNI error 4 naming CNI_ARGS. ok is false when either
// name is absent: the invocation is not for a Kubernetes pod.
func ParseArgs(s string) (ref PodRef, ok bool, err error) {
	if strings.TrimSpace(s) == "" {
		return ref, false, nil
	}
	for _, pair := range strings.Split(s, ";") {
		if pair == "" {
			continue
		}
		k, v, found := strings.Cut(pair, "=")
		if !found || k == "" {
			return ref, false, types.NewError(types.ErrInvalidEnvironmentVariables,
				"invalid CNI_ARGS: "+strconv.Quote(pair)+" is not KEY=VALUE (CNI_ARGS is KEY=VALUE pairs separated by ';')", "")
		}
		switch k {
		case "K8S_POD_NAMESPACE":
			ref.Namespace = v
		case "K8S_POD_NAME":
			ref.Name = v
		}
	}
	return ref, ref.Namespace != "" && ref.Name != "", nil
}
