package cni

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/proxy-init/netlink-native/nat"
	"golang.org/x/sys/unix"
	"k8s.io/client-go/kubernetes/fake"
)

const prevResult = `{"cniVersion":"0.4.0","interfaces":[{"name":"eth0","mac":"0a:58:0a:f4:00:05","sandbox":"/var/run/netns/x"}],` +
	`"ips":[{"version":"4","interface":0,"address":"10.244.0.5/24","gateway":"10.244.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}`

// TestAddPassesPrevResultThrough: the result is prevResult, unchanged, in
// the configuration's version; without one it is an empty result.
func TestAddPassesPrevResultThrough(t *testing.T) {
	cs := fake.NewClientset() // no pod named: the API is not asked
	p := &Plugin{Stderr: &bytes.Buffer{}, NewAPI: func(*Settings) (API, error) { return CoreV1(cs.CoreV1()), nil }}
	for _, c := range []struct{ conf, want string }{
		{`{"cniVersion":"0.4.0","name":"n","type":"t","prevResult":` + prevResult + `}`, prevResult},
		{`{"cniVersion":"1.0.0","name":"n","type":"t"}`, `{"cniVersion":"1.0.0"}`},
	} {
		res, err := p.Add(&skel.CmdArgs{ContainerID: "c", Netns: "/nonexistent", IfName: "eth0", StdinData: []byte(c.conf)})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := res.PrintTo(&out); err != nil {
			t.Fatal(err)
		}
		var got, want any
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(c.want), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("result\n%s\nwant\n%s", out.Bytes(), c.want)
		}
	}
	if len(cs.Actions()) != 0 {
		t.Errorf("API asked %d times without a pod in CNI_ARGS", len(cs.Actions()))
	}
}

// TestVerbsOnFake runs ADD, CHECK and DEL of a meshed pod against nat.Fake
// (no root): the rules go in, CHECK passes and then reports the tables
// removed behind its back, DEL removes them twice over, and a kernel
// refusal is CodeKernel with the namespace left as it was.
func TestVerbsOnFake(t *testing.T) {
	cs := fake.NewClientset(meshed("web", nil), namespace(nil))
	engine := nat.NewFake()
	p := &Plugin{Stderr: &bytes.Buffer{}, Engine: engine, NewAPI: func(*Settings) (API, error) { return CoreV1(cs.CoreV1()), nil }}
	args := &skel.CmdArgs{ContainerID: "c", IfName: "eth0", Args: "K8S_POD_NAMESPACE=emojivoto;K8S_POD_NAME=web",
		StdinData: []byte(`{"cniVersion":"1.0.0","name":"n","type":"t","linkerd":{"ipv6":true,"inbound-ports-to-ignore":["4190-4191"]}}`)}

	if _, err := p.Add(args); err != nil {
		t.Fatal(err)
	}
	live, err := engine.Live(context.Background())
	if err != nil || len(live.Tables) != 2 || !strings.Contains(live.Listing(false), "4190-4191") {
		t.Fatalf("after ADD: %v\n%v", err, live)
	}
	if err := p.Check(args); err != nil {
		t.Errorf("CHECK: %v", err)
	}
	engine.Set(nil)
	if err := p.Check(args); err == nil || code(t, err) != CodeMismatch {
		t.Errorf("CHECK without the rules: %v, want code %d", err, CodeMismatch)
	}
	if _, err := p.Add(args); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := p.Del(args); err != nil {
			t.Errorf("DEL %d: %v", i+1, err)
		}
	}
	if live, _ := engine.Live(context.Background()); live != nil && len(live.Tables) != 0 {
		t.Errorf("after DEL: %v", live)
	}

	writes := engine.Writes
	engine.Fail = func(op nat.Op) error { return nat.NewKernelError(op, nat.KindPermission, unix.EPERM) }
	_, err = p.Add(args)
	if err == nil || code(t, err) != CodeKernel || !strings.Contains(err.Error(), "CAP_NET_ADMIN") {
		t.Errorf("ADD refused by the kernel: %v, want code %d naming CAP_NET_ADMIN", err, CodeKernel)
	}
	if engine.Writes != writes {
		t.Errorf("a refused ADD committed")
	}
}

// TestLogFormats: log_format json gives one JSON object per line, plain one
// logfmt line, each saying the decision with the verb, container and pod.
func TestLogFormats(t *testing.T) {
	cs := fake.NewClientset(meshed("web", nil), namespace(nil))
	for _, format := range []string{"json", "plain"} {
		var stderr bytes.Buffer
		p := &Plugin{Stderr: &stderr, Engine: nat.NewFake(), NewAPI: func(*Settings) (API, error) { return CoreV1(cs.CoreV1()), nil }}
		_, err := p.Add(&skel.CmdArgs{ContainerID: "c1", Args: "K8S_POD_NAMESPACE=emojivoto;K8S_POD_NAME=web",
			StdinData: []byte(`{"cniVersion":"1.0.0","name":"n","log_level":"info","log_format":"` + format + `"}`)})
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if stderr.Len() == 0 {
			t.Fatalf("%s: %q", format, stderr.String())
		}
		for _, l := range lines {
			var rec map[string]any
			isJSON := json.Unmarshal([]byte(l), &rec) == nil
			if isJSON != (format == "json") {
				t.Errorf("%s: line %q", format, l)
			}
			if !strings.Contains(l, "emojivoto/web") || !strings.Contains(l, "c1") || !strings.Contains(l, "ADD") {
				t.Errorf("%s: line lacks the verb, container or pod: %q", format, l)
			}
		}
	}
}

// TestCheckAfterSimulate: with linkerd.simulate ADD installs nothing, so
// CHECK expects nothing and passes, rather than reporting the rules ADD
// chose not to install as missing.
func TestCheckAfterSimulate(t *testing.T) {
	cs := fake.NewClientset(meshed("web", nil), namespace(nil))
	engine := nat.NewFake()
	p := &Plugin{Stderr: &bytes.Buffer{}, Engine: engine, NewAPI: func(*Settings) (API, error) { return CoreV1(cs.CoreV1()), nil }}
	args := &skel.CmdArgs{ContainerID: "c", IfName: "eth0", Args: "K8S_POD_NAMESPACE=emojivoto;K8S_POD_NAME=web",
		StdinData: []byte(`{"cniVersion":"1.0.0","name":"n","type":"t","linkerd":{"simulate":true}}`)}
	if _, err := p.Add(args); err != nil {
		t.Fatal(err)
	}
	if engine.Writes != 0 {
		t.Fatalf("simulated ADD wrote %d times", engine.Writes)
	}
	if err := p.Check(args); err != nil {
		t.Errorf("CHECK after a simulated ADD: %v, want success", err)
	}
}
