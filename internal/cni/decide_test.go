package cni

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/proxy-init/netlink-native/nat"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var quiet = slog.New(slog.DiscardHandler)

func meshed(name string, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "emojivoto", Name: name, Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web"}, {Name: ProxyContainerName}}},
	}
}

func namespace(annotations map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "emojivoto", Annotations: annotations}}
}

// gets counts the clientset's GETs of a resource.
func gets(cs *fake.Clientset, resource string) int {
	n := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

func base() nat.Config {
	c := nat.DefaultConfig()
	c.InboundPortsToIgnore = []nat.PortRange{{First: 4190, Last: 4191}}
	c.OutboundPortsToIgnore = []nat.PortRange{{First: 25, Last: 25}}
	c.InboundSubnetsToIgnore = nil
	return c
}

func decide(t *testing.T, objs ...runtime.Object) (*Decision, *fake.Clientset, error) {
	t.Helper()
	cs := fake.NewClientset(objs...)
	d, err := Decide(context.Background(), CoreV1(cs.CoreV1()), PodRef{"emojivoto", "web"}, base(), quiet)
	return d, cs, err
}

func TestDecideWhichPods(t *testing.T) {
	plain := meshed("web", nil)
	plain.Spec.Containers = plain.Spec.Containers[:1]
	self := meshed("web", nil)
	self.Spec.InitContainers = []corev1.Container{{Name: InitContainerName}}
	sidecar := meshed("web", nil)
	sidecar.Spec.Containers = sidecar.Spec.Containers[:1]
	sidecar.Spec.InitContainers = []corev1.Container{{Name: ProxyContainerName}}
	for _, c := range []struct {
		name string
		pod  *corev1.Pod
		mesh bool
	}{
		{"meshed", meshed("web", nil), true},
		{"no proxy", plain, false},
		{"programs itself", self, false},
		{"native sidecar proxy", sidecar, true},
	} {
		d, cs, err := decide(t, c.pod, namespace(nil))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d.Mesh != c.mesh {
			t.Errorf("%s: mesh %v (%s), want %v", c.name, d.Mesh, d.Reason, c.mesh)
		}
		if !c.mesh && gets(cs, "namespaces") != 0 {
			t.Errorf("%s: an unmeshed pod's namespace was read", c.name)
		}
	}
}

// TestAnnotationMerging: the pod's annotation wins, else the namespace's;
// skip-inbound-ports adds to the configured list, the others replace; the
// namespace is read once at most, and not at all when the pod sets all five.
func TestAnnotationMerging(t *testing.T) {
	all := map[string]string{
		AnnotationSkipInbound: "8080", AnnotationSkipOutbound: "3306,5432", AnnotationSkipSubnets: "10.0.0.0/8",
		AnnotationProxyUID: "3000", AnnotationProxyGID: "3001",
	}
	for _, c := range []struct {
		name    string
		pod, ns map[string]string
		edit    func(*nat.Config)
		nsReads int
	}{
		{"none", nil, nil, func(*nat.Config) {}, 1},
		{"all on the pod", all, map[string]string{AnnotationProxyUID: "9"}, func(c *nat.Config) {
			c.InboundPortsToIgnore = append(c.InboundPortsToIgnore, nat.PortRange{First: 8080, Last: 8080})
			c.OutboundPortsToIgnore = []nat.PortRange{{First: 3306, Last: 3306}, {First: 5432, Last: 5432}}
			c.InboundSubnetsToIgnore = prefixes(t, "10.0.0.0/8")
			c.ProxyUID, c.ProxyGID = 3000, 3001
		}, 0},
		{"all on the namespace", nil, all, func(c *nat.Config) {
			c.InboundPortsToIgnore = append(c.InboundPortsToIgnore, nat.PortRange{First: 8080, Last: 8080})
			c.OutboundPortsToIgnore = []nat.PortRange{{First: 3306, Last: 3306}, {First: 5432, Last: 5432}}
			c.InboundSubnetsToIgnore = prefixes(t, "10.0.0.0/8")
			c.ProxyUID, c.ProxyGID = 3000, 3001
		}, 1},
		{"pod first, then namespace", map[string]string{AnnotationProxyUID: "4000", AnnotationSkipOutbound: ""},
			map[string]string{AnnotationProxyUID: "5000", AnnotationSkipOutbound: "1-1024", AnnotationProxyGID: "-1"}, func(c *nat.Config) {
				c.ProxyUID, c.ProxyGID = 4000, -1
				c.OutboundPortsToIgnore = []nat.PortRange{{First: 1, Last: 1024}}
			}, 1},
	} {
		d, cs, err := decide(t, meshed("web", c.pod), namespace(c.ns))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := base()
		c.edit(&want)
		if !reflect.DeepEqual(d.Config, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, d.Config, want)
		}
		if got := gets(cs, "namespaces"); got != c.nsReads {
			t.Errorf("%s: namespace read %d times, want %d", c.name, got, c.nsReads)
		}
	}
}

func TestBadAnnotation(t *testing.T) {
	for _, c := range []struct {
		pod, ns map[string]string
		msg     string
	}{
		{map[string]string{AnnotationSkipOutbound: "80,x,90"}, nil, `"80,x,90" for annotation config.linkerd.io/skip-outbound-ports (on the pod)`},
		{nil, map[string]string{AnnotationSkipSubnets: "10.0.0.1/88"}, `"10.0.0.1/88" for annotation config.linkerd.io/skip-subnets (on the namespace)`},
		{map[string]string{AnnotationProxyUID: "proxy"}, nil, `"proxy" for annotation config.linkerd.io/proxy-uid (on the pod)`},
	} {
		_, _, err := decide(t, meshed("web", c.pod), namespace(c.ns))
		var te *types.Error
		if !errors.As(err, &te) || te.Code != types.ErrInvalidNetworkConfig || !strings.Contains(te.Msg, c.msg) {
			t.Errorf("error %v, want code 7 with %q", err, c.msg)
		}
	}
	// Values only nat's Validate judges are still blamed on their annotation.
	cs := fake.NewClientset(meshed("web", nil), namespace(map[string]string{AnnotationProxyGID: "4294967295"}))
	d, err := Decide(context.Background(), CoreV1(cs.CoreV1()), PodRef{"emojivoto", "web"}, base(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ConfigError(d.Config.Validate()); err == nil || !strings.Contains(err.Error(), `"4294967295" for annotation config.linkerd.io/proxy-gid (on the namespace)`) {
		t.Errorf("got %v", err)
	}
	cfg := base()
	cfg.IPv6 = false
	cs = fake.NewClientset(meshed("web", map[string]string{AnnotationSkipSubnets: "fd00::/8"}), namespace(nil))
	d, err = Decide(context.Background(), CoreV1(cs.CoreV1()), PodRef{"emojivoto", "web"}, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	err = d.ConfigError(d.Config.Validate())
	if err == nil || !strings.Contains(err.Error(), "annotation config.linkerd.io/skip-subnets (on the pod): is an IPv6 subnet but ipv6 is false") {
		t.Errorf("got %v", err)
	}
}

func TestDecideAPIErrors(t *testing.T) {
	_, _, err := decide(t, namespace(nil))
	if err == nil || !strings.Contains(err.Error(), "read pod emojivoto/web") {
		t.Errorf("missing pod: %v", err)
	}
	if te, ok := apiError(err).(*types.Error); !ok || te.Code != CodeAPIRefused {
		t.Errorf("missing pod classified as %v, want code %d", apiError(err), CodeAPIRefused)
	}
	_, _, err = decide(t, meshed("web", nil)) // no namespace object
	if err == nil || !strings.Contains(err.Error(), "read namespace emojivoto") {
		t.Errorf("missing namespace: %v", err)
	}
}

func TestControlPlanePorts(t *testing.T) {
	cp := meshed("web", nil)
	cp.Labels = map[string]string{ControlPlaneLabel: "destination"}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Port: 443, TargetPort: intstr.FromInt32(6443)},
			{Port: 8443, TargetPort: intstr.FromString("https")},
		}},
	}
	d, cs, err := decide(t, cp, namespace(nil), svc)
	if err != nil {
		t.Fatal(err)
	}
	want := append(base().OutboundPortsToIgnore, ports(t, "443,6443,8443")...)
	if !reflect.DeepEqual(d.Config.OutboundPortsToIgnore, want) {
		t.Errorf("outbound ignore %v, want %v", d.Config.OutboundPortsToIgnore, want)
	}
	if gets(cs, "services") != 1 {
		t.Errorf("service reads: %d", gets(cs, "services"))
	}

	// Unreadable Service: 443 and 6443, after the annotation's replacement.
	cp.Annotations = map[string]string{AnnotationSkipOutbound: "9999"}
	d, _, err = decide(t, cp, namespace(nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := ports(t, "9999,443,6443"); !reflect.DeepEqual(d.Config.OutboundPortsToIgnore, want) {
		t.Errorf("fallback %v, want %v", d.Config.OutboundPortsToIgnore, want)
	}

	// Not a control-plane pod: the Service is not read.
	_, cs, err = decide(t, meshed("web", nil), namespace(nil), svc)
	if err != nil || gets(cs, "services") != 0 {
		t.Errorf("plain pod read the Service (%v)", err)
	}
}

// TestNamespaceErrorFailsClosed: when the namespace cannot be read, the pod
// is not programmed without its overrides.
func TestNamespaceErrorFailsClosed(t *testing.T) {
	cs := fake.NewClientset(meshed("web", nil), namespace(nil))
	cs.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("boom")
	})
	_, err := Decide(context.Background(), CoreV1(cs.CoreV1()), PodRef{"emojivoto", "web"}, base(), quiet)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("got %v", err)
	}
}
