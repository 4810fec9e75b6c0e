// Package deploy_test checks the deployment files against the code: every
// file they mount or build from exists, every configuration file they
// carry loads, every LONGTAIL_ variable they set names a configuration
// key, and every port, role, selector and reference lines up. Docker and
// Kubernetes are not needed: the files are parsed, not run.
package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/longtailhq/longtail/config"
	"github.com/longtailhq/longtail/nurture"
)

var roles = []string{"api", "worker", "scheduler"}

// checkEnvName fails unless name is a LONGTAIL_ variable the config
// package knows (a key by the LONGTAIL_ rule, or LONGTAIL_CONFIG).
func checkEnvName(t *testing.T, where, name string) {
	t.Helper()
	if !strings.HasPrefix(name, config.EnvPrefix) {
		t.Errorf("%s: %s is not a LONGTAIL_ variable", where, name)
		return
	}
	_, err := config.Load("", false, []string{name + "=x"})
	if err != nil && strings.Contains(err.Error(), "names no configuration key") {
		t.Errorf("%s: %s names no configuration key", where, name)
	}
}

// loadConfig loads a configuration file with environ, as serve would.
func loadConfig(t *testing.T, where, path string, environ []string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path, true, environ)
	if err != nil {
		t.Fatalf("%s: %s does not load: %v", where, path, err)
	}
	return cfg
}

// listenPort is the port of http.listen.
func listenPort(t *testing.T, cfg *config.Config) int {
	t.Helper()
	_, p, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		t.Fatalf("http.listen %q: %v", cfg.HTTP.Listen, err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// argAfter returns the value after flag in args.
func argAfter(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	var froms []string
	user := ""
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
			user = ""
		case "USER":
			user = f[1]
		case "COPY":
			if strings.HasPrefix(f[1], "--from=") {
				continue
			}
			// Sources are relative to the build context, the repository root.
			for _, src := range f[1 : len(f)-1] {
				if _, err := os.Stat(filepath.Join("..", src)); err != nil {
					t.Errorf("COPY %s: %v", src, err)
				}
			}
		}
	}
	if len(froms) < 2 {
		t.Errorf("want a multi-stage build, got FROM %v", froms)
	}
	if final := froms[len(froms)-1]; !strings.Contains(final, "distroless") && final != "scratch" {
		t.Errorf("final stage %s is neither distroless nor scratch", final)
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "0" || name == "root" {
		t.Errorf("final stage runs as %q, want a non-root user", user)
	}
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/longtail"} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile does not build with %s", want)
		}
	}
	if _, err := os.Stat("../cmd/longtail/main.go"); err != nil {
		t.Error(err)
	}
}

// composeFile is the part of compose.yaml the checks read.
type composeFile struct {
	Services map[string]struct {
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		DependsOn   map[string]any    `yaml:"depends_on"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

var interpolation = regexp.MustCompile(`\$\{[^}]*\}`)

func TestCompose(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	seen := map[string]bool{}
	for name, s := range c.Services {
		where := "compose.yaml: services." + name
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s: depends on unknown service %s", where, dep)
			}
		}
		mounts := map[string]string{} // container path → host path
		readOnly := map[string]bool{} // container path → mounted :ro
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 {
				t.Errorf("%s: volume %q", where, v)
				continue
			}
			host, target := parts[0], parts[1]
			mounts[target] = host
			readOnly[target] = len(parts) > 2 && parts[2] == "ro"
			if strings.HasPrefix(host, ".") {
				if _, err := os.Stat(host); err != nil {
					t.Errorf("%s: volume %s: %v", where, v, err)
				}
			} else if _, ok := c.Volumes[host]; !ok {
				t.Errorf("%s: named volume %s is not declared", where, host)
			}
		}
		if name == "redis" {
			conf := mounts["/usr/local/etc/redis/redis.conf"]
			b, err := os.ReadFile(conf)
			if err != nil {
				t.Fatalf("%s: redis.conf: %v", where, err)
			}
			for _, want := range []string{"maxmemory-policy noeviction", "appendonly yes"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("%s: %s lacks %q", where, conf, want)
				}
			}
			continue
		}
		if s.Build == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("%s: build: %v", where, err)
		}
		role := argAfter(s.Command, "--role")
		if s.Command[0] != "serve" || !slices.Contains(roles, role) {
			t.Errorf("%s: command %v is not serve --role api|worker|scheduler", where, s.Command)
		}
		seen[role] = true
		var environ []string
		for k, v := range s.Environment {
			checkEnvName(t, where+".environment", k)
			// ${VAR:?message} is the operator's value: stand in a valid one.
			environ = append(environ, k+"="+interpolation.ReplaceAllString(v, "compose-test-key-0123456789"))
		}
		cfgPath := argAfter(s.Command, "--config")
		host, ok := mounts[cfgPath]
		if !ok {
			t.Errorf("%s: --config %s is not mounted", where, cfgPath)
			continue
		}
		cfg := loadConfig(t, where, host, environ)
		for _, p := range s.Ports {
			parts := strings.Split(p, ":")
			if n, _ := strconv.Atoi(parts[len(parts)-1]); n != listenPort(t, cfg) {
				t.Errorf("%s: port %s, but http.listen is %s", where, p, cfg.HTTP.Listen)
			}
		}
		if role == "api" && len(s.Ports) == 0 {
			t.Errorf("%s: the api publishes no port", where)
		}
		if cfg.SMTP.URL == "" {
			t.Errorf("%s: no smtp.url: the SMTP sink is unused", where)
		}
		// The repository's flows and templates are mounted read-only
		// where nurture.flows_dir and templates_dir point, and load.
		var dirs [2]string
		for i, k := range []struct{ key, dir string }{
			{"nurture.flows_dir", cfg.Nurture.FlowsDir}, {"nurture.templates_dir", cfg.Nurture.TemplatesDir},
		} {
			host, ok := mounts[k.dir]
			switch {
			case k.dir == "":
				t.Errorf("%s: %s is not set: the binary's embedded copy runs, not the repository's files", where, k.key)
			case !ok:
				t.Errorf("%s: %s %s is not mounted", where, k.key, k.dir)
			case !readOnly[k.dir]:
				t.Errorf("%s: %s is mounted read-write", where, k.dir)
			}
			dirs[i] = host
		}
		if dirs[0] != "" && dirs[1] != "" {
			checkLibrary(t, where, dirs[0], dirs[1])
		}
	}
	for _, r := range roles {
		if !seen[r] {
			t.Errorf("compose.yaml: no service runs --role %s", r)
		}
	}
	if _, ok := c.Services["mailpit"]; !ok {
		t.Error("compose.yaml: no mailpit service")
	}
}

// k8sObject is the part of a manifest the checks read.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		// Service
		Ports []struct {
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
		ServiceSelector map[string]string
		Template        struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
				Containers []k8sContainer `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		Metrics []struct {
			External *struct {
				Metric struct {
					Name string `yaml:"name"`
				} `yaml:"metric"`
			} `yaml:"external"`
		} `yaml:"metrics"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Args    []string `yaml:"args"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// checkLibrary loads the nurture flows and templates of two directories
// as serve would, with flows validate's checks.
func checkLibrary(t *testing.T, where, flowsDir, templatesDir string) {
	t.Helper()
	if _, err := nurture.LoadLibrary(nurture.DirSource(flowsDir), nurture.DirSource(templatesDir), nil); err != nil {
		t.Errorf("%s: the mounted flows and templates do not load: %v", where, err)
	}
}

// rootKustomization is the repository root's kustomization.yaml, which
// generates the flows and templates ConfigMaps from the shipped files
// (kustomize reads no file outside its kustomization's directory, so it
// cannot live in deploy/k8s).
type rootKustomization struct {
	Resources          []string `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `yaml:"name"`
		Files []string `yaml:"files"`
	} `yaml:"configMapGenerator"`
}

// shipped are the files of the repository directory dir (relative to the
// root) whose names end in one of exts, as root-relative paths.
func shipped(t *testing.T, dir string, exts ...string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("..", dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && slices.Contains(exts, filepath.Ext(e.Name())) {
			out = append(out, dir+"/"+e.Name())
		}
	}
	return out
}

// generatedConfigMaps reads the root kustomization and returns the
// ConfigMaps it generates, their data read from the files it lists, after
// checking that it builds on deploy/k8s and lists exactly the shipped
// flows and nurture templates, each file once and each key once.
func generatedConfigMaps(t *testing.T) []k8sObject {
	t.Helper()
	data, err := os.ReadFile("../kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k rootKustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if !slices.Contains(k.Resources, "deploy/k8s") {
		t.Errorf("kustomization.yaml: resources %v do not include deploy/k8s", k.Resources)
	}
	want := map[string][]string{
		"longtail-flows":     shipped(t, "flows", ".yaml", ".yml"),
		"longtail-templates": shipped(t, "templates/nurture", ".txt", ".html"),
	}
	var out []k8sObject
	for _, g := range k.ConfigMapGenerator {
		where := "kustomization.yaml: configMapGenerator " + g.Name
		o := k8sObject{Kind: "ConfigMap", Data: map[string]string{}}
		o.Metadata.Name = g.Name
		for _, f := range g.Files {
			key, path, ok := strings.Cut(f, "=")
			if !ok {
				key, path = filepath.Base(f), f
			}
			if filepath.IsAbs(path) || strings.HasPrefix(filepath.Clean(path), "..") {
				t.Errorf("%s: %s is outside the kustomization's directory: kustomize refuses it", where, path)
			}
			body, err := os.ReadFile(filepath.Join("..", path))
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if _, dup := o.Data[key]; dup {
				t.Errorf("%s: key %s twice", where, key)
			}
			o.Data[key] = string(body)
		}
		if w, ok := want[g.Name]; ok {
			got := slices.Sorted(slices.Values(g.Files))
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Errorf("%s lists %v, want exactly the shipped files %v", where, got, w)
			}
			delete(want, g.Name)
		}
		out = append(out, o)
	}
	for name := range want {
		t.Errorf("kustomization.yaml: no configMapGenerator %s", name)
	}
	return out
}

// loadK8s reads every manifest kustomization.yaml lists, and the
// ConfigMaps the root kustomization generates.
func loadK8s(t *testing.T) []k8sObject {
	t.Helper()
	var kust struct {
		Resources []string `yaml:"resources"`
	}
	data, err := os.ReadFile("k8s/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &kust); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("k8s/*.yaml")
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(kust.Resources, base) {
			t.Errorf("k8s/%s is not listed in kustomization.yaml", base)
		}
	}
	var objs []k8sObject
	for _, r := range kust.Resources {
		data, err := os.ReadFile(filepath.Join("k8s", r))
		if err != nil {
			t.Errorf("kustomization.yaml: %v", err)
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var node yaml.Node
			err := dec.Decode(&node)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("k8s/%s: %v", r, err)
			}
			var o k8sObject
			if err := node.Decode(&o); err != nil {
				t.Fatalf("k8s/%s: %v", r, err)
			}
			if o.Kind == "Service" { // a Service's selector is a plain map
				var svc struct {
					Spec struct {
						Selector map[string]string `yaml:"selector"`
					} `yaml:"spec"`
				}
				_ = node.Decode(&svc)
				o.Spec.ServiceSelector = svc.Spec.Selector
				o.Spec.Selector.MatchLabels = nil
			}
			objs = append(objs, o)
		}
	}
	return append(objs, generatedConfigMaps(t)...)
}

func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetes(t *testing.T) {
	t.Parallel()
	objs := loadK8s(t)
	byKind := map[string]map[string]k8sObject{}
	for _, o := range objs {
		if byKind[o.Kind] == nil {
			byKind[o.Kind] = map[string]k8sObject{}
		}
		byKind[o.Kind][o.Metadata.Name] = o
	}
	for _, s := range byKind["Secret"] {
		for k := range s.StringData {
			checkEnvName(t, "Secret "+s.Metadata.Name, k)
		}
	}
	seen := map[string]bool{}
	for name, d := range byKind["Deployment"] {
		where := "Deployment " + name
		spec := d.Spec.Template.Spec
		if !matches(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
			t.Errorf("%s: selector does not match its pods", where)
		}
		if len(spec.Containers) != 1 {
			t.Fatalf("%s: %d containers", where, len(spec.Containers))
		}
		c := spec.Containers[0]
		role := argAfter(c.Args, "--role")
		if len(c.Args) == 0 || c.Args[0] != "serve" || !slices.Contains(roles, role) {
			t.Errorf("%s: args %v are not serve --role api|worker|scheduler", where, c.Args)
		}
		if seen[role] {
			t.Errorf("%s: a second Deployment for --role %s", where, role)
		}
		seen[role] = true
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				if _, ok := byKind["Secret"][e.SecretRef.Name]; !ok {
					t.Errorf("%s: envFrom Secret %s does not exist", where, e.SecretRef.Name)
				}
			}
			if e.ConfigMapRef != nil {
				t.Errorf("%s: envFrom a ConfigMap: configuration goes in the file", where)
			}
		}
		var environ []string
		for _, e := range c.Env {
			checkEnvName(t, where+" env", e.Name)
			environ = append(environ, e.Name+"="+e.Value)
		}
		// The --config file comes from a ConfigMap that has it, and loads.
		cfgPath := argAfter(c.Args, "--config")
		var cfg *config.Config
		for _, m := range c.VolumeMounts {
			var vol *struct {
				Name string `yaml:"name"`
			}
			for _, v := range spec.Volumes {
				if v.Name == m.Name && v.ConfigMap != nil {
					vol = v.ConfigMap
				}
			}
			if vol == nil {
				t.Errorf("%s: volume %s is not a ConfigMap volume of the pod", where, m.Name)
				continue
			}
			cm, ok := byKind["ConfigMap"][vol.Name]
			if !ok {
				t.Errorf("%s: ConfigMap %s does not exist", where, vol.Name)
				continue
			}
			key := m.SubPath
			if key == "" {
				rel, err := filepath.Rel(m.MountPath, cfgPath)
				if err != nil || strings.HasPrefix(rel, "..") {
					continue
				}
				key = rel
			} else if m.MountPath != cfgPath {
				continue
			}
			body, ok := cm.Data[key]
			if !ok {
				t.Errorf("%s: ConfigMap %s has no key %s for --config %s", where, vol.Name, key, cfgPath)
				continue
			}
			p := filepath.Join(t.TempDir(), "longtail.yaml")
			if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg = loadConfig(t, where+" ConfigMap "+vol.Name, p, environ)
		}
		if cfg == nil {
			t.Errorf("%s: --config %q is mounted from no ConfigMap", where, cfgPath)
			continue
		}
		// nurture.flows_dir and templates_dir are whole ConfigMaps mounted
		// there (not inside another mount), whose files load.
		var dirs [2]string
		for i, k := range []struct{ key, dir string }{
			{"nurture.flows_dir", cfg.Nurture.FlowsDir}, {"nurture.templates_dir", cfg.Nurture.TemplatesDir},
		} {
			if k.dir == "" {
				t.Errorf("%s: %s is not set: the binary's embedded copy runs, not the shipped ConfigMap", where, k.key)
				continue
			}
			for _, m := range c.VolumeMounts {
				if m.MountPath != k.dir || m.SubPath != "" {
					continue
				}
				for _, v := range spec.Volumes {
					if v.Name != m.Name || v.ConfigMap == nil {
						continue
					}
					cm, ok := byKind["ConfigMap"][v.ConfigMap.Name]
					if !ok {
						continue // reported above
					}
					dirs[i] = t.TempDir()
					for key, body := range cm.Data {
						if err := os.WriteFile(filepath.Join(dirs[i], key), []byte(body), 0o600); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			for _, m := range c.VolumeMounts {
				if rel, err := filepath.Rel(m.MountPath, k.dir); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
					t.Errorf("%s: %s %s is inside the mount of %s: a read-only volume cannot take a mount point", where, k.key, k.dir, m.Name)
				}
			}
			if dirs[i] == "" {
				t.Errorf("%s: %s %s is not a ConfigMap mount", where, k.key, k.dir)
			}
		}
		if dirs[0] != "" && dirs[1] != "" {
			checkLibrary(t, where, dirs[0], dirs[1])
		}
		// The api serves on http.listen; the other roles answer probes on
		// http.health_listen.
		served, key := cfg.HTTP.Listen, "http.listen"
		if role != "api" {
			served, key = cfg.HTTP.HealthListen, "http.health_listen"
		}
		ports := map[string]int{}
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort
			if _, port, _ := net.SplitHostPort(served); port != strconv.Itoa(p.ContainerPort) {
				t.Errorf("%s: containerPort %d, but %s is %q", where, p.ContainerPort, key, served)
			}
		}
		for _, pr := range []struct {
			name, path string
			probe      *k8sProbe
		}{{"liveness", "/healthz", c.LivenessProbe}, {"readiness", "/readyz", c.ReadinessProbe}} {
			if pr.probe == nil || pr.probe.HTTPGet == nil || pr.probe.HTTPGet.Path != pr.path {
				t.Errorf("%s: no %s probe on %s", where, pr.name, pr.path)
			} else if _, ok := ports[pr.probe.HTTPGet.Port]; !ok {
				t.Errorf("%s: %s probe on unknown port %q", where, pr.name, pr.probe.HTTPGet.Port)
			}
		}
	}
	for _, r := range roles {
		if !seen[r] {
			t.Errorf("no Deployment runs --role %s", r)
		}
	}
	// Selectors and references land on something.
	podsOf := func(sel map[string]string) []string {
		var out []string
		for name, d := range byKind["Deployment"] {
			if matches(sel, d.Spec.Template.Metadata.Labels) {
				out = append(out, name)
			}
		}
		return out
	}
	for name, s := range byKind["Service"] {
		ds := podsOf(s.Spec.ServiceSelector)
		if len(ds) != 1 {
			t.Errorf("Service %s selects %v", name, ds)
			continue
		}
		c := byKind["Deployment"][ds[0]].Spec.Template.Spec.Containers[0]
		for _, p := range s.Spec.Ports {
			if !slices.ContainsFunc(c.Ports, func(cp struct {
				Name          string `yaml:"name"`
				ContainerPort int    `yaml:"containerPort"`
			}) bool {
				return cp.Name == p.TargetPort || strconv.Itoa(cp.ContainerPort) == p.TargetPort
			}) {
				t.Errorf("Service %s: targetPort %s is no port of %s", name, p.TargetPort, ds[0])
			}
		}
	}
	pdbRoles := map[string]bool{}
	for name, p := range byKind["PodDisruptionBudget"] {
		ds := podsOf(p.Spec.Selector.MatchLabels)
		if len(ds) != 1 {
			t.Errorf("PodDisruptionBudget %s selects %v", name, ds)
		}
		for _, d := range ds {
			pdbRoles[d] = true
		}
	}
	if len(pdbRoles) != len(byKind["Deployment"]) {
		t.Errorf("PodDisruptionBudgets cover %v of %d Deployments", pdbRoles, len(byKind["Deployment"]))
	}
	hpas := byKind["HorizontalPodAutoscaler"]
	if len(hpas) == 0 {
		t.Error("no HorizontalPodAutoscaler")
	}
	for name, h := range hpas {
		if _, ok := byKind["Deployment"][h.Spec.ScaleTargetRef.Name]; !ok || h.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("HorizontalPodAutoscaler %s scales unknown %s %s", name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
		}
		for _, m := range h.Spec.Metrics {
			if m.External == nil || !strings.HasPrefix(m.External.Metric.Name, "longtail_") {
				t.Errorf("HorizontalPodAutoscaler %s: metric %+v is not a longtail_ series", name, m.External)
			}
		}
	}
}
