package manifests

import (
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// renderKustomize builds a kustomization directory as `kubectl apply -k`
// would and returns its documents.
func renderKustomize(t *testing.T, dir string) [][]byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var docs [][]byte
	for _, r := range res.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s: %v", dir, r.CurId(), err)
		}
		docs = append(docs, y)
	}
	return docs
}

// Every overlay renders, decodes strictly, and meets the stack contract.
func TestKustomizeOverlays(t *testing.T) {
	root := repoRoot(t)
	for _, overlay := range []string{"dev", "prod"} {
		t.Run(overlay, func(t *testing.T) {
			dir := filepath.Join(root, "k8s", "overlays", overlay)
			s := decodeStack(t, "k8s/overlays/"+overlay, renderKustomize(t, dir))
			s.checkContract(t)
			for _, d := range s.deployments {
				if d.Namespace == "" {
					t.Errorf("Deployment/%s has no namespace: the overlay sets one", d.Name)
				}
			}
		})
	}
}

// The base renders on its own too (kubectl apply -k k8s/base into the
// current namespace).
func TestKustomizeBase(t *testing.T) {
	s := decodeStack(t, "k8s/base", renderKustomize(t, filepath.Join(repoRoot(t), "k8s", "base")))
	s.checkContract(t)
}

// app-svc scales on its own: its HPA changes nothing else.
func TestKustomizeProdScalesAppSvcAlone(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "k8s", "overlays", "prod")
	s := decodeStack(t, "k8s/overlays/prod", renderKustomize(t, dir))
	app, edge := s.hpas["app-svc"], s.hpas["edge"]
	if app == nil || edge == nil {
		t.Fatal("prod overlay lacks the app-svc or edge HPA")
	}
	if *app.Spec.MinReplicas != 3 || app.Spec.MaxReplicas != 30 {
		t.Errorf("app-svc HPA %d-%d, want 3-30", *app.Spec.MinReplicas, app.Spec.MaxReplicas)
	}
	if mcp := s.hpas["mcp-svc"]; mcp == nil || mcp.Spec.MaxReplicas == app.Spec.MaxReplicas {
		t.Errorf("mcp-svc HPA should keep the base bounds, independent of app-svc's")
	}
	for name, d := range s.deployments {
		if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
			t.Errorf("prod Deployment/%s is not spread across zones", name)
		}
	}
}
