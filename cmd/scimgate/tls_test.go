package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
	"github.com/scimgate/scimgate/ldapbackend/slapd/slapdtest"
	"github.com/scimgate/scimgate/oauth"
)

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "scimgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestHTTPS: with a certificate and key the server speaks TLS 1.2 or
// later only, and plain HTTP off loopback is refused by validation.
func TestHTTPS(t *testing.T) {
	s := slapdtest.StartT(t, slapd.Options{SeedLDIF: []string{demoLDIF}})
	certFile, keyFile, pool := selfSigned(t)
	addr := freeAddr(t)
	cfg := &Config{Listen: addr, ServiceDN: serviceDN,
		OAuth: oauth.Config{Issuer: oauth.DemoIssuer, Audiences: []string{oauth.DemoAudience}, JWKSFile: demoJWKS}}
	cfg.TLS.CertFile, cfg.TLS.KeyFile = certFile, keyFile
	cfg.LDAP.URL, cfg.LDAP.BindDN, cfg.LDAP.BindPassword, cfg.LDAP.Suffix = s.URL, serviceDN, servicePass, s.Suffix
	cfg.defaults()
	if cfg.BaseURL != "https://"+addr+"/scim/v2" {
		t.Fatalf("base URL %q", cfg.BaseURL)
	}
	if errs := cfg.validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- serve(ctx, cfg, &syncBuffer{}, ready) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	k, _ := oauth.LoadSigningKey(demoKey)
	tok, _ := oauth.SignDevToken(k, oauth.DevClaims{Subject: "r", Scopes: []string{"scim:read"}})
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", "https://"+addr+"/scim/v2/Users?count=1", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("status %d, TLS %v", resp.StatusCode, resp.TLS)
	}
	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get("https://" + addr + "/healthz"); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
	// Go's TLS server answers a plain-HTTP request with a bare 400.
	if r, err := http.Get("http://" + addr + "/healthz"); err == nil {
		r.Body.Close()
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP on the TLS port: %d", r.StatusCode)
		}
	}

	// Without TLS, a non-loopback listen address is refused.
	plain := &Config{Listen: "0.0.0.0:8443"}
	plain.defaults()
	found := false
	for _, e := range plain.validate() {
		if e.Error() == "listen: plain HTTP is only allowed on a loopback address; configure tls.cert_file and tls.key_file" {
			found = true
		}
	}
	if !found {
		t.Fatal("plain HTTP on 0.0.0.0 must be refused")
	}
}
