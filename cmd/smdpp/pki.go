package main

import (
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/smdpp/smdpp/devpki"
)

func pkiInit(args []string) error {
	fs := flag.NewFlagSet("smdpp pki init", flag.ContinueOnError)
	dir := fs.String("dir", filepath.Join("smdpp-data", "pki"), "output directory; the PKI goes into DIR/<curve>")
	curve := fs.String("curve", "nist", "curve of the hierarchy: nist, brainpool or both")
	hosts := fs.String("hosts", "localhost,127.0.0.1,::1", "comma-separated DNS names and IP addresses of the DPtls certificate")
	eumPrefix := fs.String("eum-prefix", devpki.DefaultEUMPrefix, "EID prefix the test EUM may issue under")
	euiccs := fs.Int("euiccs", 3, "number of test eUICC certificates")
	force := fs.Bool("force", false, "overwrite an existing PKI")
	if err := fs.Parse(args); err != nil {
		return err
	}
	curves := []string{*curve}
	if *curve == "both" {
		curves = []string{"nist", "brainpool"}
	}
	opts := devpki.Options{EUMPrefix: *eumPrefix, EUICCCount: *euiccs}
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			opts.IPAddresses = append(opts.IPAddresses, ip)
		} else {
			opts.DNSNames = append(opts.DNSNames, h)
		}
	}
	for _, c := range curves {
		out := filepath.Join(*dir, c)
		if err := writePKI(out, c, opts, *force); err != nil {
			return err
		}
		fmt.Printf("wrote %s PKI to %s (trust anchor: %s)\n", c, out, filepath.Join(out, devpki.CICertFile))
	}
	return nil
}

func writePKI(dir, curve string, opts devpki.Options, overwrite bool) error {
	opts.Curve = curve
	p, err := devpki.Generate(opts)
	if err != nil {
		return fmt.Errorf("generating %s PKI: %w", curve, err)
	}
	if err := p.WriteDir(dir, overwrite); err != nil {
		return fmt.Errorf("writing %s PKI: %w", curve, err)
	}
	return nil
}
