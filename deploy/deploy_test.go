// Package deploy_test checks the deployment files for the properties docs/OPERATIONS.md and
// docs/SECURITY.md promise, so an edit cannot quietly drop one. compose.yaml is not parsed
// here: no YAML parser is among the module's dependencies.
package deploy_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// unit reads a systemd unit file into section → key → values, in order.
func unit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	svc := unit(t, "systemd/smdpp.service")["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}
	want := map[string]string{
		"User":                  "smdpp",
		"StateDirectory":        "smdpp",
		"NoNewPrivileges":       "yes",
		"ProtectSystem":         "strict",
		"ProtectHome":           "yes",
		"PrivateTmp":            "yes",
		"PrivateDevices":        "yes",
		"CapabilityBoundingSet": "", // no capability at all
		"AmbientCapabilities":   "",
		"UMask":                 "0077",
		"RestrictSUIDSGID":      "yes",
	}
	for k, v := range want {
		got := svc[k]
		if len(got) == 0 || got[len(got)-1] != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	if exec := svc["ExecStart"]; len(exec) != 1 || !strings.Contains(exec[0], " serve") {
		t.Errorf("ExecStart=%q, want one smdpp serve", exec)
	}
	if _, ok := svc["DynamicUser"]; ok {
		t.Error("DynamicUser set: the key files are readable by the smdpp group, not by a dynamic uid")
	}

	dropIn := unit(t, "systemd/listen-443.conf")["Service"]
	for _, k := range []string{"CapabilityBoundingSet", "AmbientCapabilities"} {
		if got := dropIn[k]; len(got) != 1 || got[0] != "CAP_NET_BIND_SERVICE" {
			t.Errorf("listen-443.conf %s=%q, want only CAP_NET_BIND_SERVICE", k, got)
		}
	}
	if len(dropIn) != 2 {
		t.Errorf("listen-443.conf sets %d keys, want only the two capability lines", len(dropIn))
	}
}

func TestContainerfile(t *testing.T) {
	data, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms, users []string
	build := false
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			froms = append(froms, fields[1])
			users = nil // USER applies per stage
		case "USER":
			users = append(users, fields[1])
		case "RUN":
			if strings.Contains(line, "CGO_ENABLED=0 go build") {
				build = true
			}
		}
	}
	if len(froms) < 2 || froms[len(froms)-1] != "scratch" {
		t.Errorf("stages %q: the final stage must be FROM scratch", froms)
	}
	if !build {
		t.Error("no CGO_ENABLED=0 go build")
	}
	if len(users) != 1 || strings.HasPrefix(users[0], "0") || strings.HasPrefix(users[0], "root") {
		t.Errorf("final stage USER %q, want one numeric non-root uid", users)
	}
	if !strings.Contains(string(data), "ca-certificates.crt") {
		t.Error("CA certificates not copied")
	}
	ignore, err := os.ReadFile("Containerfile.dockerignore")
	if err != nil || !strings.Contains(string(ignore), "smdpp-data") {
		t.Error("the build context must exclude smdpp-data (private keys)")
	}
}
