package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// scheme knows the API groups the deployment files may use; any other kind
// fails to decode, which is what we want.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		autoscalingv2.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme,
	} {
		utilruntime.Must(add(s))
	}
	return s
}()

// strictDecoder rejects unknown and duplicate fields.
var strictDecoder = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

// decodeStrict turns one YAML document into its typed object. Two passes:
// the API machinery's strict decoder (unknown kind, unknown or duplicate
// field), then sigs.k8s.io/yaml's strict unmarshal into the same type,
// which also refuses fields the JSON decoder would only case-fold.
func decodeStrict(doc []byte) (runtime.Object, error) {
	obj, gvk, err := strictDecoder.Decode(doc, nil, nil)
	if err != nil {
		return nil, err
	}
	again, err := scheme.New(*gvk)
	if err != nil {
		return nil, err
	}
	if err := sigsyaml.UnmarshalStrict(doc, again); err != nil {
		return nil, err
	}
	return obj, nil
}

// splitYAML cuts a multi-document stream, dropping empty documents (only
// comments or whitespace, as Helm emits for disabled templates).
func splitYAML(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if isEmptyDoc(doc) {
			continue
		}
		docs = append(docs, doc)
	}
}

func isEmptyDoc(doc []byte) bool {
	for line := range strings.Lines(string(doc)) {
		l := strings.TrimSpace(line)
		if l != "" && l != "---" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// The checker itself must fail on what it is meant to catch.
func TestDecodeStrictRefuses(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicaz: 2\n", "replicaz"},
		{"misplaced field", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n    - {port: 80, targetport: http}\n", "targetport"},
		{"duplicate field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {A: a}\ndata: {B: b}\n", "data"},
		{"unknown kind", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n", "Widget"},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two}\n", "replicas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeStrict([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decodeStrict = %v, want an error naming %q", err, tt.want)
			}
		})
	}
	if _, err := decodeStrict([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {A: a}\n")); err != nil {
		t.Fatalf("valid ConfigMap refused: %v", err)
	}
}

func TestSplitYAMLDropsEmptyDocuments(t *testing.T) {
	docs, err := splitYAML([]byte("---\n# Source: x/templates/hpa.yaml\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2: %q", len(docs), docs)
	}
}
