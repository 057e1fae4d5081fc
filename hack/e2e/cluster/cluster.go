package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Options configure Start. The zero value boots a full node.
type Options struct {
	// Bins are the binaries; nil builds or finds them with Binaries.
	Bins *Bins
	// ControlPlaneOnly boots etcd, kube-apiserver and kube-controller-
	// manager only (no scheduler, containerd or kubelet): API-level tests.
	ControlPlaneOnly bool
	// NoControllerManager leaves kube-controller-manager out too (only with
	// ControlPlaneOnly). Without it no default ServiceAccount is created.
	NoControllerManager bool
	// SandboxImage is containerd's sandbox_image, a local pause image
	// (imported by Images: pulls are impossible offline).
	SandboxImage string
	// Images are image archives (docker-archive, as `podman save` writes)
	// imported into containerd's k8s.io namespace before kubelet starts.
	Images []string
	// CNIConfig is containerd's conflist at boot; nil is DefaultCNIConfig.
	CNIConfig []byte
	// CNIPlugins are extra plugin binaries copied into the CNI bin dir
	// beside bridge, host-local and loopback (name in the dir => path).
	CNIPlugins map[string]string
	// Log receives one line per milestone; nil is os.Stderr.
	Log io.Writer
}

// Cluster is a running single-node cluster. Its methods are safe for
// concurrent use; Stop may be called more than once.
type Cluster struct {
	opts     Options
	bins     *Bins
	dir      string
	cgroup   string
	pki      *pki
	node     *Node
	rest     *rest.Config
	client   kubernetes.Interface
	mu       sync.Mutex
	daemons  map[string]*daemon
	stopped  bool
	stopOnce sync.Once
	stopErr  error
	start    time.Time
}

// Start boots a cluster; on error everything it started is already gone.
// The run directory is RunBase()/<pid>-<n>, removed by Stop.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	if opts.CNIConfig == nil {
		opts.CNIConfig = DefaultCNIConfig()
	}
	if err := Sweep(opts.Log); err != nil {
		fmt.Fprintf(opts.Log, "cluster: sweep of earlier runs: %v\n", err)
	}
	if opts.Bins == nil {
		if opts.Bins, err = Binaries(ctx, opts.Log); err != nil {
			return nil, err
		}
	}
	c = &Cluster{opts: opts, bins: opts.Bins, daemons: map[string]*daemon{}, start: time.Now()}
	if err := os.MkdirAll(RunBase(), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", RunBase(), err)
	}
	if c.dir, err = os.MkdirTemp(RunBase(), strconv.Itoa(os.Getpid())+"-"); err != nil {
		return nil, fmt.Errorf("create the run directory: %w", err)
	}
	register(c)
	defer func() {
		if err != nil {
			c.Stop()
			c = nil
		}
	}()
	for _, d := range []string{"logs", "etcd", "cni/bin", "cni/conf"} {
		if err := os.MkdirAll(filepath.Join(c.dir, d), 0o755); err != nil {
			return c, fmt.Errorf("create %s: %w", d, err)
		}
	}
	if c.pki, err = makePKI(filepath.Join(c.dir, "pki"), NodeName, []net.IP{net.ParseIP(nodeIP), net.ParseIP("10.96.0.1")}); err != nil {
		return c, err
	}
	admin := filepath.Join(c.dir, "admin.kubeconfig")
	if err := writeFile(admin, kubeconfig(c.APIServer(), c.pki.caCert, c.pki.adminCert, c.pki.adminKey), 0o600); err != nil {
		return c, fmt.Errorf("write the admin kubeconfig: %w", err)
	}
	if c.node, err = startNode(ctx, c.dir, nodeIP); err != nil {
		return c, err
	}
	c.milestone("namespaces ready")
	c.rest = &rest.Config{Host: c.APIServer(), TLSClientConfig: rest.TLSClientConfig{CAFile: c.pki.caCert, CertFile: c.pki.adminCert, KeyFile: c.pki.adminKey},
		Dial: c.node.DialContext, QPS: 100, Burst: 200}
	if c.client, err = kubernetes.NewForConfig(c.rest); err != nil {
		return c, fmt.Errorf("create the API client: %w", err)
	}
	if err := c.startControlPlane(ctx); err != nil {
		return c, err
	}
	if opts.ControlPlaneOnly {
		return c, nil
	}
	if err := c.startNodeDaemons(ctx, true); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Cluster) milestone(what string) {
	fmt.Fprintf(c.opts.Log, "cluster: %s (%.2fs)\n", what, time.Since(c.start).Seconds())
}

func (c *Cluster) startControlPlane(ctx context.Context) error {
	if _, err := c.startDaemon("etcd", c.bins.Etcd, "--name=e2e", "--data-dir="+filepath.Join(c.dir, "etcd"),
		"--listen-client-urls=http://127.0.0.1:2379", "--advertise-client-urls=http://127.0.0.1:2379",
		"--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster=e2e=http://127.0.0.1:2380", "--unsafe-no-fsync", "--log-level=warn"); err != nil {
		return err
	}
	p := c.pki
	if _, err := c.startDaemon("kube-apiserver", c.bins.APIServer,
		"--etcd-servers=http://127.0.0.1:2379", "--bind-address="+nodeIP, "--advertise-address="+nodeIP, "--secure-port="+apiPort,
		"--tls-cert-file="+p.apiCert, "--tls-private-key-file="+p.apiKey, "--client-ca-file="+p.caCert,
		"--service-account-issuer=https://kubernetes.default.svc", "--service-account-key-file="+p.saPub,
		"--service-account-signing-key-file="+p.saKey, "--service-cluster-ip-range="+serviceCIDR,
		"--authorization-mode=Node,RBAC", "--allow-privileged=true", "--cert-dir="+filepath.Join(c.dir, "pki"),
		"--kubelet-client-certificate="+p.adminCert, "--kubelet-client-key="+p.adminKey,
		"--kubelet-certificate-authority="+p.caCert, "--kubelet-preferred-address-types=InternalIP"); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "etcd", 30*time.Second, func(ctx context.Context) error {
		conn, err := c.node.DialContext(ctx, "tcp", "127.0.0.1:2379")
		if err == nil {
			conn.Close()
		}
		return err
	}); err != nil {
		return err
	}
	c.milestone("etcd up")
	if err := c.waitFor(ctx, "kube-apiserver", 60*time.Second, func(ctx context.Context) error {
		_, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	}); err != nil {
		return err
	}
	c.milestone("API server ready")
	admin := c.Kubeconfig()
	if !c.opts.NoControllerManager || !c.opts.ControlPlaneOnly {
		if _, err := c.startDaemon("kube-controller-manager", c.bins.ControllerManager, "--kubeconfig="+admin,
			"--service-account-private-key-file="+p.saKey, "--root-ca-file="+p.caCert, "--leader-elect=false",
			"--bind-address=127.0.0.1", "--use-service-account-credentials=false"); err != nil {
			return err
		}
	}
	if !c.opts.ControlPlaneOnly {
		if _, err := c.startDaemon("kube-scheduler", c.bins.Scheduler, "--kubeconfig="+admin, "--leader-elect=false",
			"--bind-address=127.0.0.1"); err != nil {
			return err
		}
	}
	if !c.opts.NoControllerManager || !c.opts.ControlPlaneOnly {
		if err := c.waitFor(ctx, "the default ServiceAccount", 60*time.Second, func(ctx context.Context) error {
			_, err := c.client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
			return err
		}); err != nil {
			return err
		}
		c.milestone("default ServiceAccount exists")
	}
	return nil
}

// startNodeDaemons starts containerd and kubelet (first: also the CNI bin
// dir, the images and the cgroup root).
func (c *Cluster) startNodeDaemons(ctx context.Context, first bool) error {
	if first {
		for _, p := range []string{"bridge", "host-local", "loopback"} {
			if err := copyFile(filepath.Join("/usr/lib/cni", p), filepath.Join(c.CNIBinDir(), p)); err != nil {
				return fmt.Errorf("install the CNI plugin %s: %w", p, err)
			}
		}
		for name, src := range c.opts.CNIPlugins {
			if err := c.InstallCNIPlugin(name, src); err != nil {
				return err
			}
		}
		if err := c.WriteCNIConfig(c.opts.CNIConfig); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(c.dir, "containerd.toml"),
			containerdConfig(c.dir, c.opts.SandboxImage, c.CNIBinDir(), c.CNIConfDir()), 0o644); err != nil {
			return fmt.Errorf("write containerd's configuration: %w", err)
		}
		if err := writeFile(filepath.Join(c.dir, "resolv.conf"), []byte("nameserver 127.0.0.53\n"), 0o644); err != nil {
			return fmt.Errorf("write resolv.conf: %w", err)
		}
		c.cgroup = cgroupPrefix + strconv.Itoa(os.Getpid())
		if err := makeCgroupRoot(c.cgroup); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(c.dir, "kubelet.yaml"),
			kubeletConfig(c.dir, c.pki.caCert, c.pki.kubeletCert, c.pki.kubeKey, "/"+c.cgroup), 0o644); err != nil {
			return fmt.Errorf("write kubelet's configuration: %w", err)
		}
		if err := writeFile(filepath.Join(c.dir, "kubelet.kubeconfig"),
			kubeconfig(c.APIServer(), c.pki.caCert, c.pki.nodeCert, c.pki.nodeKey), 0o600); err != nil {
			return fmt.Errorf("write kubelet's kubeconfig: %w", err)
		}
	}
	if _, err := c.startDaemon("containerd", "containerd", "--config="+filepath.Join(c.dir, "containerd.toml")); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "containerd", 30*time.Second, func(ctx context.Context) error {
		_, err := c.Ctr(ctx, "version")
		return err
	}); err != nil {
		return err
	}
	c.milestone("containerd up")
	if first && len(c.opts.Images) > 0 {
		if err := c.ImportImages(ctx, c.opts.Images...); err != nil {
			return err
		}
		c.milestone("images imported")
	}
	if _, err := c.startDaemon("kubelet", c.bins.Kubelet, "--config="+filepath.Join(c.dir, "kubelet.yaml"),
		"--kubeconfig="+filepath.Join(c.dir, "kubelet.kubeconfig"), "--hostname-override="+NodeName, "--node-ip="+nodeIP,
		"--root-dir=/var/lib/kubelet", "--v=1"); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "kubelet healthy", 60*time.Second, func(ctx context.Context) error {
		return c.kubeletHealthy(ctx)
	}); err != nil {
		return err
	}
	if err := c.WaitNodeReady(ctx, 60*time.Second); err != nil {
		return err
	}
	c.milestone("node Ready")
	return nil
}

// kubeletHealthy asks kubelet's healthz endpoint (inside the node).
func (c *Cluster) kubeletHealthy(ctx context.Context) error {
	hc := &http.Client{Transport: &http.Transport{DialContext: c.node.DialContext}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:10248/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kubelet healthz: %s", resp.Status)
	}
	return nil
}

// WaitNodeReady waits until the node reports Ready (kubelet registered and
// containerd's network configured).
func (c *Cluster) WaitNodeReady(ctx context.Context, timeout time.Duration) error {
	return c.waitFor(ctx, "node "+NodeName+" Ready", timeout, func(ctx context.Context) error {
		n, err := c.client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				if cond.Status == corev1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("NotReady: %s", cond.Message)
			}
		}
		return errors.New("no Ready condition yet")
	})
}

// waitFor polls check until it succeeds, a daemon dies, or timeout.
func (c *Cluster) waitFor(ctx context.Context, what string, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		c.mu.Lock()
		for _, d := range c.daemons {
			if dead, err := d.exited(); dead {
				c.mu.Unlock()
				return fmt.Errorf("wait for %s: %w (log: %s)", what, err, c.LogPath(d.name))
			}
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last: %v)", what, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends everything the cluster started and removes its cgroups and run
// directory (kept when PROXY_INIT_E2E_KEEP is set, for its logs). The
// first error is returned; the cleanup goes on regardless. A concurrent
// call (the signal handler's, say) waits for the first to finish.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	c.mu.Lock()
	c.stopped = true
	ds := c.daemons
	c.mu.Unlock()
	defer unregister(c)
	var errs []error
	// kubelet first, so it restarts nothing; then the pods' containers and
	// shims (containerd's children, which outlive it), then the rest.
	ds["kubelet"].stop(0)
	if c.cgroup != "" {
		if err := removeCgroupRoot(c.cgroup); err != nil {
			errs = append(errs, err)
		}
	}
	for _, n := range []string{"containerd", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"} {
		ds[n].stop(0)
	}
	if c.dir != "" {
		killByMarker(c.dir)
	}
	if c.node != nil {
		c.node.stop()
		// Wait until nothing is left in the node's mount namespace, so that
		// its mounts (and the pods' namespaces bound under its /run) go.
		deadline := time.Now().Add(10 * time.Second)
		for processAlive(c.node.PID()) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if c.cgroup != "" {
		if err := removeCgroupRoot(c.cgroup); err != nil {
			errs = append(errs, err)
		}
	}
	if c.dir != "" && os.Getenv("PROXY_INIT_E2E_KEEP") == "" {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove the run directory: %w", err))
		}
	}
	return errors.Join(errs...)
}

// SaveLogs copies the daemons' logs (logs/) and the pods' container logs
// (the node's /var/log/pods) into dst, for a failed run whose run
// directory Stop removes.
func (c *Cluster) SaveLogs(dst string) error {
	for _, sub := range []string{"logs", "varlog"} {
		src := filepath.Join(c.dir, sub)
		err := filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return nil
			}
			rel, _ := filepath.Rel(c.dir, p)
			return copyFile(p, filepath.Join(dst, rel))
		})
		if err != nil {
			return fmt.Errorf("save logs to %s: %w", dst, err)
		}
	}
	return nil
}

// Dir is the run directory (logs/ holds each daemon's log).
func (c *Cluster) Dir() string { return c.dir }

// LogPath is the log file of a component: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, containerd (which also holds
// what CNI plugins write to stderr), kubelet, node.
func (c *Cluster) LogPath(component string) string {
	return filepath.Join(c.dir, "logs", component+".log")
}

// Kubeconfig is the admin kubeconfig's path (O=system:masters). Its server
// is reachable only inside the node: run kubectl with Node().Command.
func (c *Cluster) Kubeconfig() string { return filepath.Join(c.dir, "admin.kubeconfig") }

// APIServer is the API server's URL (inside the node).
func (c *Cluster) APIServer() string { return "https://" + nodeIP + ":" + apiPort }

// CAFile is the cluster CA's certificate.
func (c *Cluster) CAFile() string { return c.pki.caCert }

// RESTConfig is an admin client configuration that dials through the
// node's network namespace; copy it before changing it.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.rest) }

// Client is an admin clientset (dialing through the node).
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Node is the node's namespaces: run commands, open sockets there.
func (c *Cluster) Node() *Node { return c.node }

// NodeIP is the node's address (on a bridge inside the node).
func (c *Cluster) NodeIP() string { return nodeIP }

// Bins are the binaries the cluster runs (kubectl, helm among them).
func (c *Cluster) Bins() *Bins { return c.bins }

// CNIBinDir and CNIConfDir are containerd's CNI directories (the same path
// on the host and in the node).
func (c *Cluster) CNIBinDir() string  { return filepath.Join(c.dir, "cni", "bin") }
func (c *Cluster) CNIConfDir() string { return filepath.Join(c.dir, "cni", "conf") }

// WriteCNIConfig replaces containerd's network configuration (a conflist)
// by write-then-rename; containerd reloads it within a moment.
func (c *Cluster) WriteCNIConfig(conflist []byte) error {
	if err := writeFile(filepath.Join(c.CNIConfDir(), "10-e2e.conflist"), conflist, 0o644); err != nil {
		return fmt.Errorf("write the CNI configuration: %w", err)
	}
	return nil
}

// InstallCNIPlugin copies the binary src into the CNI bin dir as name.
func (c *Cluster) InstallCNIPlugin(name, src string) error {
	if err := copyFile(src, filepath.Join(c.CNIBinDir(), name)); err != nil {
		return fmt.Errorf("install the CNI plugin %s from %s: %w", name, src, err)
	}
	return nil
}

// Ctr runs ctr against the cluster's containerd, in its k8s.io namespace.
func (c *Cluster) Ctr(ctx context.Context, args ...string) ([]byte, error) {
	return c.node.Run(ctx, "ctr", append([]string{"--address", filepath.Join(c.dir, "containerd.sock"), "--namespace", "k8s.io"}, args...)...)
}

// Kubectl runs the cluster's kubectl as admin inside the node.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return c.node.Run(ctx, c.bins.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig()}, args...)...)
}

// ImportImages imports docker-archive files (`podman save --format
// docker-archive`) into containerd; pods use them with imagePullPolicy
// Never.
func (c *Cluster) ImportImages(ctx context.Context, archives ...string) error {
	for _, a := range archives {
		if _, err := c.Ctr(ctx, "images", "import", a); err != nil {
			return fmt.Errorf("import image archive %s: %w", a, err)
		}
	}
	return nil
}

// RestartNode stops kubelet and containerd (SIGTERM) and starts them again,
// as a node restart does to running pods: their containers keep running.
// It returns once the node is Ready again.
func (c *Cluster) RestartNode(ctx context.Context) error {
	c.mu.Lock()
	k, ctrd := c.daemons["kubelet"], c.daemons["containerd"]
	c.mu.Unlock()
	k.stop(10 * time.Second)
	ctrd.stop(10 * time.Second)
	restarted := time.Now().Truncate(time.Second)
	if err := c.startNodeDaemons(ctx, false); err != nil {
		return err
	}
	// The node's Ready condition is the old kubelet's until the new one
	// reports: wait for a heartbeat after the restart.
	return c.waitFor(ctx, "a node heartbeat after the restart", 60*time.Second, func(ctx context.Context) error {
		n, err := c.client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue && !cond.LastHeartbeatTime.Time.Before(restarted) {
				return nil
			}
		}
		return errors.New("no Ready heartbeat since the restart yet")
	})
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeFile(dst, b, 0o755)
}

// IgnoreNotFound is apierrors.IsNotFound as a filter, for cleanups.
func IgnoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie (state Z) is as good as gone.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
