package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/meshpipe/meshpipe/internal/testenv"
)

// manifests holds every object of deploy/k8s, decoded strictly into Kubernetes' own API types.
type manifests struct {
	deployments  []appsv1.Deployment
	statefulSets []appsv1.StatefulSet
	jobs         []batchv1.Job
	services     []corev1.Service
	claims       []corev1.PersistentVolumeClaim
	secrets      []corev1.Secret
}

// loadManifests decodes each YAML document of deploy/k8s/*.yaml into its kind's type with
// sigs.k8s.io/yaml's strict mode: a misspelt or misplaced field is an error.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(testenv.Root(t), "deploy", "k8s", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/k8s")
	}
	var m manifests
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for i := 0; ; i++ {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			var meta v1.TypeMeta
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			var obj any
			switch meta.APIVersion + " " + meta.Kind {
			case "apps/v1 Deployment":
				m.deployments = append(m.deployments, appsv1.Deployment{})
				obj = &m.deployments[len(m.deployments)-1]
			case "apps/v1 StatefulSet":
				m.statefulSets = append(m.statefulSets, appsv1.StatefulSet{})
				obj = &m.statefulSets[len(m.statefulSets)-1]
			case "batch/v1 Job":
				m.jobs = append(m.jobs, batchv1.Job{})
				obj = &m.jobs[len(m.jobs)-1]
			case "v1 Service":
				m.services = append(m.services, corev1.Service{})
				obj = &m.services[len(m.services)-1]
			case "v1 PersistentVolumeClaim":
				m.claims = append(m.claims, corev1.PersistentVolumeClaim{})
				obj = &m.claims[len(m.claims)-1]
			case "v1 Secret":
				m.secrets = append(m.secrets, corev1.Secret{})
				obj = &m.secrets[len(m.secrets)-1]
			default:
				t.Fatalf("%s: document %d: unexpected %s %s", f, i, meta.APIVersion, meta.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s: document %d (%s): %v", filepath.Base(f), i, meta.Kind, err)
			}
		}
	}
	return m
}

// pod is a pod template of a manifest, with its workload's selector and volume claim templates.
type pod struct {
	name     string
	selector *v1.LabelSelector
	spec     corev1.PodTemplateSpec
	claims   []corev1.PersistentVolumeClaim
}

// TestManifests decodes the Kubernetes manifests of deploy/k8s with Kubernetes' own types and
// checks that they fit together: selectors match their pod labels, every volume mount and
// claim, Secret key and Service a manifest names is defined, and the worker's arguments are
// flags meshfarm worker accepts, pointing at the Temporal Service.
func TestManifests(t *testing.T) {
	m := loadManifests(t)
	claims, services, secrets := map[string]bool{}, map[string]*corev1.Service{}, map[string]corev1.Secret{}
	for _, c := range m.claims {
		claims[c.Name] = true
	}
	for i, s := range m.services {
		services[s.Name] = &m.services[i]
	}
	for _, s := range m.secrets {
		secrets[s.Name] = s
	}
	var pods []pod
	for _, d := range m.deployments {
		pods = append(pods, pod{"Deployment " + d.Name, d.Spec.Selector, d.Spec.Template, nil})
	}
	for _, s := range m.statefulSets {
		pods = append(pods, pod{"StatefulSet " + s.Name, s.Spec.Selector, s.Spec.Template, s.Spec.VolumeClaimTemplates})
	}
	for _, j := range m.jobs {
		pods = append(pods, pod{"Job " + j.Name, nil, j.Spec.Template, nil})
	}
	for _, p := range pods {
		if p.selector != nil {
			sel, err := v1.LabelSelectorAsSelector(p.selector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(p.spec.Labels)) {
				t.Errorf("%s: selector %v does not match its pod labels %v (%v)", p.name, p.selector, p.spec.Labels, err)
			}
		}
		volumes := map[string]bool{}
		for _, v := range p.spec.Spec.Volumes {
			volumes[v.Name] = true
			if pvc := v.PersistentVolumeClaim; pvc != nil && !claims[pvc.ClaimName] {
				t.Errorf("%s: volume %s uses claim %q, which no manifest defines", p.name, v.Name, pvc.ClaimName)
			}
		}
		for _, c := range p.claims {
			volumes[c.Name] = true
		}
		for _, c := range p.spec.Spec.Containers {
			if c.Image == "" {
				t.Errorf("%s: container %s has no image", p.name, c.Name)
			}
			for _, vm := range c.VolumeMounts {
				if !volumes[vm.Name] {
					t.Errorf("%s: container %s mounts %q, which is not a volume of the pod", p.name, c.Name, vm.Name)
				}
			}
			for _, e := range c.Env {
				if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
					s, ok := secrets[ref.SecretKeyRef.Name]
					if _, has := s.StringData[ref.SecretKeyRef.Key]; !ok || !has {
						t.Errorf("%s: %s comes from secret %s key %s, which no manifest defines", p.name, e.Name, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
					}
				}
			}
		}
	}
	for _, s := range m.services {
		found := false
		for _, p := range pods {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.spec.Labels)) {
				found = true
				for _, port := range s.Spec.Ports {
					if port.TargetPort.StrVal != "" && !namedPort(p.spec, port.TargetPort.StrVal) {
						t.Errorf("Service %s: target port %q is not a port of %s", s.Name, port.TargetPort.StrVal, p.name)
					}
				}
			}
		}
		if !found {
			t.Errorf("Service %s selects no pod of the manifests", s.Name)
		}
	}

	// The workers: meshfarm worker with flags it accepts, a GPU each, the shared claim.
	var worker *appsv1.Deployment
	for i := range m.deployments {
		if m.deployments[i].Name == "meshfarm-worker" {
			worker = &m.deployments[i]
		}
	}
	if worker == nil {
		t.Fatal("no Deployment meshfarm-worker")
	}
	c := worker.Spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "worker" {
		t.Fatalf("worker args %q: want meshfarm worker", c.Args)
	}
	var stderr bytes.Buffer
	cfg, code := parseWorker(c.Args[1:], nil, &stderr)
	if code != 0 {
		t.Errorf("meshfarm worker %s: %s", strings.Join(c.Args[1:], " "), stderr.String())
	}
	host, port, _ := strings.Cut(cfg.conn.address, ":")
	if svc := services[host]; svc == nil || !hasPort(svc, port) {
		t.Errorf("workers dial %s, which is no Service port of the manifests", cfg.conn.address)
	}
	if gpu := c.Resources.Limits["nvidia.com/gpu"]; gpu.Value() != 1 {
		t.Errorf("worker GPU limit %v, want 1 (one segment per GPU)", gpu.String())
	}
	if len(m.jobs) == 0 || !strings.Contains(strings.Join(m.jobs[0].Spec.Template.Spec.Containers[0].Args, " "), "meshfarm submit") {
		t.Error("no Job running meshfarm submit")
	}
}

func namedPort(p corev1.PodTemplateSpec, name string) bool {
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.Name == name {
				return true
			}
		}
	}
	return false
}

func hasPort(s *corev1.Service, port string) bool {
	for _, p := range s.Spec.Ports {
		if fmt.Sprint(p.Port) == port {
			return true
		}
	}
	return false
}
