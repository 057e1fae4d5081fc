package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the cluster's certificates, made with crypto/x509 (no openssl): a
// CA, the API server's serving certificate, an admin client
// (O=system:masters, also used by the controller-manager, the scheduler and
// the API server towards kubelet), kubelet's client and serving
// certificates, and the service-account signing key. P-256 keys: quick to
// generate, accepted everywhere here.
type pki struct {
	dir                  string
	caCert, caKey        string
	apiCert, apiKey      string
	adminCert, adminKey  string
	nodeCert, nodeKey    string
	kubeletCert, kubeKey string
	saKey, saPub         string
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func writePEM(path, typ string, der []byte) error {
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

func writeKey(path string, k crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der)
}

// makePKI writes every certificate under dir. nodeName and ips go into
// the serving certificates.
func makePKI(dir, nodeName string, apiIPs []net.IP) (*pki, error) {
	p := &pki{dir: dir}
	f := func(n string) string { return filepath.Join(dir, n) }
	p.caCert, p.caKey = f("ca.crt"), f("ca.key")
	p.apiCert, p.apiKey = f("apiserver.crt"), f("apiserver.key")
	p.adminCert, p.adminKey = f("admin.crt"), f("admin.key")
	p.nodeCert, p.nodeKey = f("kubelet-client.crt"), f("kubelet-client.key")
	p.kubeletCert, p.kubeKey = f("kubelet.crt"), f("kubelet.key")
	p.saKey, p.saPub = f("sa.key"), f("sa.pub")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	now := time.Now().Add(-time.Hour)
	caKey, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("generate the CA key: %w", err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "proxy-init-e2e-ca"},
		NotBefore: now, NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create the CA certificate: %w", err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	if err := writePEM(p.caCert, "CERTIFICATE", caDER); err != nil {
		return nil, fmt.Errorf("write the CA: %w", err)
	}
	if err := writeKey(p.caKey, caKey); err != nil {
		return nil, fmt.Errorf("write the CA key: %w", err)
	}
	serial := int64(2)
	leaf := func(cert, key string, subj pkix.Name, usage x509.ExtKeyUsage, dns []string, ips []net.IP) error {
		k, err := newKey()
		if err != nil {
			return fmt.Errorf("generate the key of %s: %w", subj.CommonName, err)
		}
		serial++
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: subj, NotBefore: now, NotAfter: now.Add(48 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: dns, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			return fmt.Errorf("sign the certificate of %s: %w", subj.CommonName, err)
		}
		if err := writePEM(cert, "CERTIFICATE", der); err != nil {
			return fmt.Errorf("write %s: %w", cert, err)
		}
		if err := writeKey(key, k); err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
		return nil
	}
	apiDNS := []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"}
	if err := leaf(p.apiCert, p.apiKey, pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth, apiDNS,
		append([]net.IP{net.IPv4(127, 0, 0, 1)}, apiIPs...)); err != nil {
		return nil, err
	}
	if err := leaf(p.adminCert, p.adminKey, pkix.Name{CommonName: "proxy-init-e2e-admin", Organization: []string{"system:masters"}},
		x509.ExtKeyUsageClientAuth, nil, nil); err != nil {
		return nil, err
	}
	if err := leaf(p.nodeCert, p.nodeKey, pkix.Name{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"}},
		x509.ExtKeyUsageClientAuth, nil, nil); err != nil {
		return nil, err
	}
	if err := leaf(p.kubeletCert, p.kubeKey, pkix.Name{CommonName: nodeName}, x509.ExtKeyUsageServerAuth, []string{nodeName}, apiIPs); err != nil {
		return nil, err
	}
	sa, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("generate the service-account key: %w", err)
	}
	if err := writeKey(p.saKey, sa); err != nil {
		return nil, fmt.Errorf("write the service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encode the service-account public key: %w", err)
	}
	if err := writePEM(p.saPub, "PUBLIC KEY", pub); err != nil {
		return nil, fmt.Errorf("write the service-account public key: %w", err)
	}
	return p, nil
}
