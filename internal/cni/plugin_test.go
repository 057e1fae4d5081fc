package cni

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
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
