package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// WaitPod polls the pod until done says so (or returns an error), up to
// timeout; it returns the last pod seen.
func (c *Cluster) WaitPod(ctx context.Context, namespace, name string, timeout time.Duration, done func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	var pod *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := c.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		pod = p
		return done(p)
	})
	if err != nil {
		return pod, fmt.Errorf("wait for pod %s/%s: %w", namespace, name, err)
	}
	return pod, nil
}

// PodReady is a WaitPod condition: the pod is Ready. A pod that failed
// ends the wait with an error.
func PodReady(p *corev1.Pod) (bool, error) {
	if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
		return false, fmt.Errorf("pod %s ended in phase %s", p.Name, p.Status.Phase)
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
			return true, nil
		}
	}
	return false, nil
}

// PodNetNS returns the path (host-visible, through the node's /proc root)
// of the network namespace holding ip: a pod's, from the runtime's
// /run/netns in the node. Use it with InNetNS or nsenter --net=.
func (c *Cluster) PodNetNS(ip string) (string, error) {
	want := net.ParseIP(ip)
	dir := c.node.Path("/run/netns")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("list the node's network namespaces: %w", err)
	}
	for _, e := range ents {
		path := filepath.Join(dir, e.Name())
		found := false
		err := InNetNS(path, func() error {
			addrs, err := net.InterfaceAddrs()
			if err != nil {
				return err
			}
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && n.IP.Equal(want) {
					found = true
				}
			}
			return nil
		})
		if err == nil && found {
			return path, nil
		}
	}
	return "", fmt.Errorf("no network namespace in the node holds %s", ip)
}

// ServiceAccountKubeconfig creates (or updates) service account
// namespace/name, a ClusterRole and ClusterRoleBinding named after it with
// exactly rules, and writes a kubeconfig holding a token of that account
// (valid 24 h) to the run directory; it returns the kubeconfig's path. The
// server is the API server's node address, so programs in the node (CNI
// plugins, pods' tools) can use it.
func (c *Cluster) ServiceAccountKubeconfig(ctx context.Context, namespace, name string, rules []rbacv1.PolicyRule) (string, error) {
	cs := c.client
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil && !isExists(err) {
		return "", fmt.Errorf("create namespace %s: %w", namespace, err)
	}
	if _, err := cs.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil && !isExists(err) {
		return "", fmt.Errorf("create service account %s/%s: %w", namespace, name, err)
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); isExists(err) {
		_, err = cs.RbacV1().ClusterRoles().Update(ctx, role, metav1.UpdateOptions{})
		if err != nil {
			return "", fmt.Errorf("update cluster role %s: %w", name, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("create cluster role %s: %w", name, err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: namespace}}}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !isExists(err) {
		return "", fmt.Errorf("create cluster role binding %s: %w", name, err)
	}
	exp := int64(24 * 3600)
	tok, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("create a token for %s/%s: %w", namespace, name, err)
	}
	ca, err := os.ReadFile(c.pki.caCert)
	if err != nil {
		return "", fmt.Errorf("read the CA: %w", err)
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: %s
  context:
    cluster: e2e
    user: %s
current-context: %s
`, c.APIServer(), base64.StdEncoding.EncodeToString(ca), name, tok.Status.Token, name, name, name)
	path := filepath.Join(c.dir, "sa-"+namespace+"-"+name+".kubeconfig")
	if err := writeFile(path, []byte(kc), 0o600); err != nil {
		return "", fmt.Errorf("write the kubeconfig of %s/%s: %w", namespace, name, err)
	}
	return path, nil
}

func isExists(err error) bool {
	var s interface{ Status() metav1.Status }
	return err != nil && errors.As(err, &s) && s.Status().Reason == metav1.StatusReasonAlreadyExists
}
