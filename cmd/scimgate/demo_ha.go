package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// runDemoHA is `make run-ha`: two slapd providers in multi-provider
// replication, seeded with the demo directory, and two gateways in front
// of them, each configured with both servers (the first preferred), in
// the foreground until interrupted. tokens.env is the one of `make run`
// plus SCIM_URL_2 and LDAP_URL_2.
func runDemoHA(ctx context.Context, cfgPath, runDir string, httpPorts, ldapPorts, metricsPorts [2]string, stdout, stderr io.Writer) error {
	for i, suffix := range [2]string{"", "_2"} {
		if err := portsFree(httpPorts[i], metricsPorts[i], ldapPorts[i], suffix); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return err
	}
	base, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	dir := filepath.Join(runDir, "ldap-ha")
	fmt.Fprintf(stderr, "starting two slapd providers on 127.0.0.1:%s and 127.0.0.1:%s (data in %s)\n", ldapPorts[0], ldapPorts[1], dir)
	ps, err := slapd.StartProvidersAt(ctx, slapd.Options{
		Dir: dir, Fresh: true, Suffix: base.LDAP.Suffix, ServiceDN: base.ServiceDN,
		SeedLDIF: []string{"testdata/demo/directory.ldif"},
	}, []string{"127.0.0.1:" + ldapPorts[0], "127.0.0.1:" + ldapPorts[1]})
	if err != nil {
		return fmt.Errorf("slapd: %v", err)
	}
	defer stopDirectory(ps.Stop, stderr)
	var cfgs [2]*Config
	for i := range cfgs {
		cfg, err := loadConfig(cfgPath)
		if err != nil {
			return err
		}
		demoListen(cfg, httpPorts[i], metricsPorts[i])
		cfg.LDAP.URL = ""
		cfg.LDAP.Servers = []ldapconn.ServerConfig{{URL: ps[0].URL}, {URL: ps[1].URL}}
		cfg.defaults()
		if errs := cfg.validate(); len(errs) > 0 {
			return errors.Join(errs...)
		}
		cfgs[i] = cfg
	}
	env, err := demoTokens(cfgs[0], ps[0].URL, ps[0].Suffix, ps[0].AdminDN, ps[0].AdminPassword)
	if err != nil {
		return err
	}
	env = append(env, "SCIM_URL_2="+cfgs[1].BaseURL, "LDAP_URL_2="+ps[1].URL, "METRICS_URL_2=http://"+cfgs[1].MetricsListen+"/metrics")
	ctx, cancel := context.WithCancel(ctx) // one gateway failing stops the other
	defer cancel()
	done := [2]chan error{make(chan error, 1), make(chan error, 1)}
	for i, cfg := range cfgs {
		ready := make(chan string, 1)
		go func() { done[i] <- serve(ctx, cfg, stderr, ready) }()
		select {
		case <-ready:
		case err := <-done[i]:
			cancel()
			if i == 1 {
				<-done[0] // the first gateway stops before the directory does
			}
			return fmt.Errorf("gateway %d: %v", i+1, err)
		}
	}
	tokensFile := filepath.Join(runDir, "tokens.env")
	if err := writeFileAtomic(tokensFile, []byte(shellLines(env)), 0o600); err != nil {
		return err
	}
	fmt.Fprint(stdout, demoBanner(tokensFile, env))
	fmt.Fprintf(stdout, "The second gateway is $SCIM_URL_2; the second provider $LDAP_URL_2. Stop a provider\n"+
		"(kill -STOP or -KILL the slapd whose pid is in %s/provider1/slapd.pid) and both gateways go on.\n", dir)
	var errs [2]error
	select { // the first to stop stops the other
	case errs[0] = <-done[0]:
		cancel()
		errs[1] = <-done[1]
	case errs[1] = <-done[1]:
		cancel()
		errs[0] = <-done[0]
	}
	return errors.Join(errs[0], errs[1])
}
