//go:build linux

package repair

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/proxy-init/netlink-native/internal/cni"
	"github.com/proxy-init/netlink-native/internal/repair/clientset"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat/pod"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestInPlaceKernel: in a throwaway namespace standing for the pod's, found
// through the (fake) runtime by its path, the controller installs through
// netlink the very ruleset the CNI plugin's ADD installs into a second
// throwaway namespace for the same pod and configuration; and the pod's
// rules verify against the plugin's decision for it.
func TestInPlaceKernel(t *testing.T) {
	testns.RequireRoot(t)
	podNS, pluginNS := testns.New(t), testns.New(t)
	p, ns := annotated("web", failed(95, 1))
	conf := writeConfig(t, t.TempDir(), conflist)
	rt := &fakeRuntime{sandboxes: []fakeSandbox{{id: "sb1", namespace: "app", name: "web", uid: string(p.UID), info: containerdInfo(podNS.Path())}}}
	h := newHarness(t, Options{Mode: ModeInPlace, InPlace: InPlaceOptions{CNIConfig: conf, Sandboxes: serveFakeRuntime(t, rt)}}, p)
	if _, err := h.client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.eventually("a repair", func() bool { return counterValue(h.m.PodsRepaired) == 1 })

	plugin := &cni.Plugin{Stderr: &bytes.Buffer{}, NewAPI: func(*cni.Settings) (cni.API, error) { return clientset.Adapt(h.client), nil }}
	if _, err := plugin.Add(&skel.CmdArgs{ContainerID: "c1", Netns: pluginNS.Path(), IfName: "eth0",
		Args: "K8S_POD_NAMESPACE=app;K8S_POD_NAME=web", StdinData: pluginEntryOf(t, conf)}); err != nil {
		t.Fatalf("plugin ADD: %v", err)
	}
	repaired, added := podNS.Ruleset(t), pluginNS.Ruleset(t)
	if repaired != added {
		t.Errorf("the repaired pod's ruleset differs from the plugin's\n--- repaired\n%s\n--- plugin\n%s", repaired, added)
	}
	if !strings.Contains(repaired, "3306") || !strings.Contains(repaired, "9000") || !strings.Contains(repaired, "4143") {
		t.Errorf("the pod's annotations or base configuration are missing:\n%s", repaired)
	}

	s, _, err := LoadCNISettings(conf)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cni.Decide(context.Background(), clientset.Adapt(h.client), cni.PodRef{Namespace: "app", Name: "web"}, s.Base, h.c.log)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pod.Verify(context.Background(), pod.AtFile(podNS.File()), d.Config)
	if err != nil {
		t.Errorf("verify: %v", err)
	} else if diff := rep.Changes.String(); diff != "" {
		t.Errorf("verify: the pod's rules differ:\n%s", diff)
	}
}
